"""A browser's session on the site: registering and logging in through the forms."""

import pytest

from tests.helpers import csrf_token


class Auth:
    def __init__(self, client):
        self.client = client

    def register(self, username="ada", password="correct horse"):
        token = csrf_token(self.client, "/register")
        return self.client.post("/register", data={"username": username, "password": password, "csrf_token": token})

    def login(self, username="ada", password="correct horse"):
        token = csrf_token(self.client, "/login")
        return self.client.post("/login", data={"username": username, "password": password, "csrf_token": token})


@pytest.fixture
def auth(client):
    return Auth(client)
