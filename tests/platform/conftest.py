import re

import pytest

from heldout.platform import create_app


@pytest.fixture
def app(settings, fake_redis):
    app = create_app(settings, redis=fake_redis)
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(client, path="/login"):
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


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
