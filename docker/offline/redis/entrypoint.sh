#!/bin/sh
# As the official image: the command is redis-server and its arguments, and protected mode is off unless the
# arguments turn it on (other containers reach it by its service name, with no password).
set -eu
if [ "${1:-}" = "redis-server" ]; then
    case " $* " in
        *" --protected-mode "*) ;;
        *) set -- "$@" --protected-mode no ;;
    esac
fi
exec "$@"
