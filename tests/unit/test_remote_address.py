"""The token goes only over HTTPS, or to this computer: a branch office's plain-HTTP address
is refused before anything is sent."""

import pytest

from engine.config import Secret, Settings
from engine.remote import Server, ServerUnavailable


def server_at(url: str) -> Server:
    return Server.of(Settings(server_url=url, token=Secret("bo_x")))


@pytest.mark.parametrize("url", ["https://backoffice.example.com", "http://127.0.0.1:8000", "http://localhost:8000",
                                 "http://[::1]:8000"])
def test_https_or_this_computer_is_used(url):
    server_at(url).close()


@pytest.mark.parametrize(("url", "says"), [("http://backoffice.example.com", "unencrypted"),
                                           ("http://10.0.0.5:8000", "unencrypted"),
                                           ("backoffice.example.com", "not a web address"),
                                           ("ftp://backoffice.example.com", "not a web address")])
def test_a_plain_http_address_across_a_network_is_refused_naming_the_setting(url, says):
    with pytest.raises(ServerUnavailable, match=says) as refused:
        server_at(url)
    assert "BACKOFFICE_SERVER_URL" in str(refused.value)
