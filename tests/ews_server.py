"""A stand-in for an on-premises Exchange 2016 EWS endpoint, on loopback, for tests.

Exchange cannot run here, so this server speaks its protocol instead: SOAP over HTTP with
Basic authentication, answering the operations exchangelib sends to save and send mail
(GetFolder, CreateItem, SendItem, DeleteItem) the way Exchange 2016 answers them, with its
ServerVersionInfo header. It keeps a small mailbox (Drafts, Sent Items), checks every request
it gets (SOAP envelope, requested server version, the operation's attributes and folder ids,
the item's change key) and records each one in `calls` for the test to inspect.

Failures are set up per recipient address:
    fault_for[address] = "ErrorSchemaValidation"   CreateItem answers with that SOAP fault
    refused = {address}                            sending answers ErrorInvalidRecipients
"""

from __future__ import annotations

import base64
import binascii
import itertools
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.etree.ElementTree import Element  # (type only; parsing goes through defusedxml)
from xml.sax.saxutils import escape

from defusedxml import ElementTree

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
ERRORS = "http://schemas.microsoft.com/exchange/services/2006/errors"

FOLDERS = {"root": "Top of Information Store", "drafts": "Drafts", "sentitems": "Sent Items"}


@dataclass
class Call:
    operation: str
    element: Element            # the operation's element in the SOAP body
    answer: str                 # "Success", a ResponseCode, or a fault code


@dataclass
class Item:
    id: str
    changekey: str
    folder: str
    mime: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.mime, policy=policy.default)


@dataclass
class Mailbox:
    items: dict[str, Item] = field(default_factory=dict)
    outgoing: list[bytes] = field(default_factory=list)   # what left the building

    def folder(self, name: str) -> list[Item]:
        return [item for item in self.items.values() if item.folder == name]


class EwsServer:
    def __init__(self, username: str, password: str, mailbox: str):
        self.username, self.password, self.mailbox_address = username, password, mailbox
        self.mailbox = Mailbox()
        self.calls: list[Call] = []
        self.problems: list[str] = []   # requests Exchange would have refused as malformed
        self.logins_refused = 0
        self.fault_for: dict[str, str] = {}
        self.refused: set[str] = set()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._http.daemon_threads = True
        self._http.ews = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_port}/EWS/Exchange.asmx"

    def operations(self) -> list[str]:
        return [call.operation for call in self.calls]

    def __enter__(self) -> EwsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._http.shutdown()
        self._http.server_close()

    # -- the operations -------------------------------------------------------------------

    def handle(self, body: bytes) -> tuple[int, str]:
        with self._lock:
            name, operation = "?", None
            try:
                envelope = ElementTree.fromstring(body)
                assert envelope.tag == f"{{{SOAP}}}Envelope", envelope.tag
                version = envelope.find(f"{{{SOAP}}}Header/{{{T}}}RequestServerVersion")
                assert version is not None and version.get("Version") == "Exchange2016", "no Exchange2016 asked for"
                (operation,) = list(envelope.find(f"{{{SOAP}}}Body"))
                name = operation.tag.removeprefix(f"{{{M}}}")
                handler = getattr(self, f"_{name}", None)
                assert handler is not None, "not an operation this server expects"
                status, answer, text = handler(operation)
            except (AssertionError, ElementTree.ParseError, ValueError) as problem:
                # What Exchange would refuse as malformed: the test fails on it (see `problems`).
                self.problems.append(f"{name}: {problem!r}")
                status, answer, text = 500, "ErrorSchemaValidation", _fault("ErrorSchemaValidation")
            self.calls.append(Call(name, operation, answer))
        return status, text

    def _folder(self, ref: Element) -> str:
        """The folder a FolderId or DistinguishedFolderId (of our mailbox) names."""
        if ref.tag == f"{{{T}}}DistinguishedFolderId":
            owner = ref.findtext(f"{{{T}}}Mailbox/{{{T}}}EmailAddress")
            assert owner in (None, self.mailbox_address), f"a folder of another mailbox: {owner}"
            return ref.get("Id", "")
        assert ref.tag == f"{{{T}}}FolderId", ref.tag
        return ref.get("Id", "").removeprefix("folder-")

    def _saved_folder(self, op: Element) -> str | None:
        parent = op.find(f"{{{M}}}SavedItemFolderId")
        if parent is None:
            return None
        (ref,) = list(parent)
        folder = self._folder(ref)
        assert folder in FOLDERS, f"SavedItemFolderId {folder!r}"
        return folder

    def _GetFolder(self, op: Element) -> tuple[int, str, str]:
        assert op.find(f"{{{M}}}FolderShape/{{{T}}}BaseShape") is not None
        messages = []
        for wanted in op.find(f"{{{M}}}FolderIds"):
            name = self._folder(wanted)
            if name not in FOLDERS:
                messages.append(_message("GetFolder", "ErrorFolderNotFound", "The specified folder could not be found in the store."))
                continue
            count = len(self.mailbox.folder(name))
            messages.append(_message("GetFolder", "NoError", content=(
                f'<m:Folders><t:Folder><t:FolderId Id="folder-{name}" ChangeKey="AQAAAA=="/>'
                f"<t:FolderClass>IPF.Note</t:FolderClass><t:DisplayName>{FOLDERS[name]}</t:DisplayName>"
                f"<t:TotalCount>{count}</t:TotalCount><t:ChildFolderCount>0</t:ChildFolderCount>"
                "<t:UnreadCount>0</t:UnreadCount></t:Folder></m:Folders>")))
        answer = "Success" if all("NoError" in m for m in messages) else "ErrorFolderNotFound"
        return 200, answer, _response("GetFolder", messages)

    def _CreateItem(self, op: Element) -> tuple[int, str, str]:
        disposition = op.get("MessageDisposition")
        assert disposition in ("SaveOnly", "SendOnly", "SendAndSaveCopy"), disposition
        folder = self._saved_folder(op)
        assert (folder is None) == (disposition == "SendOnly"), f"{disposition} into {folder!r}"
        messages = []
        for element in op.find(f"{{{M}}}Items"):
            assert element.tag == f"{{{T}}}Message", element.tag
            mime = base64.b64decode(element.findtext(f"{{{T}}}MimeContent"), validate=True)
            to = message_from_bytes(mime, policy=policy.default)["To"].addresses[0].addr_spec
            if to in self.fault_for:
                code = self.fault_for[to]
                return 500, code, _fault(code)
            if disposition != "SaveOnly" and to in self.refused:
                messages.append(_message("CreateItem", "ErrorInvalidRecipients", "One or more recipients are invalid."))
                continue
            if disposition != "SaveOnly":
                self.mailbox.outgoing.append(mime)
            if disposition == "SendOnly":
                messages.append(_message("CreateItem", "NoError", content="<m:Items/>"))
                continue
            item = self._store(folder, mime)
            shown = f'<t:Message><t:ItemId Id="{item.id}" ChangeKey="{item.changekey}"/></t:Message>'
            messages.append(_message("CreateItem", "NoError", content=f"<m:Items>{shown if disposition == 'SaveOnly' else ''}</m:Items>"))
        return 200, _answer(messages), _response("CreateItem", messages)

    def _SendItem(self, op: Element) -> tuple[int, str, str]:
        save = op.get("SaveItemToFolder")
        assert save in ("true", "false"), save
        folder = self._saved_folder(op) or "sentitems"
        messages = []
        for ref in op.find(f"{{{M}}}ItemIds"):
            item = self.mailbox.items.get(ref.get("Id"))
            if item is None or item.changekey != ref.get("ChangeKey"):
                messages.append(_message("SendItem", "ErrorItemNotFound", "The specified object was not found in the store."))
                continue
            if item.message["To"].addresses[0].addr_spec in self.refused:
                messages.append(_message("SendItem", "ErrorInvalidRecipients", "One or more recipients are invalid."))
                continue
            self.mailbox.outgoing.append(item.mime)
            del self.mailbox.items[item.id]
            if save == "true":
                self._store(folder, item.mime)
            messages.append(_message("SendItem", "NoError"))
        return 200, _answer(messages), _response("SendItem", messages)

    def _DeleteItem(self, op: Element) -> tuple[int, str, str]:
        assert op.get("DeleteType") in ("HardDelete", "SoftDelete", "MoveToDeletedItems")
        messages = []
        for ref in op.find(f"{{{M}}}ItemIds"):
            if self.mailbox.items.pop(ref.get("Id"), None) is None:
                messages.append(_message("DeleteItem", "ErrorItemNotFound", "The specified object was not found in the store."))
            else:
                messages.append(_message("DeleteItem", "NoError"))
        return 200, _answer(messages), _response("DeleteItem", messages)

    def _store(self, folder: str, mime: bytes) -> Item:
        number = next(self._ids)
        item = Item(f"item-{number}", f"ck-{number}", folder, mime)
        self.mailbox.items[item.id] = item
        return item


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as IIS does

    def do_POST(self) -> None:
        server: EwsServer = self.server.ews  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not self._authorised(server):
            server.logins_refused += 1
            self._reply(401, b"", {"WWW-Authenticate": 'Basic realm="mail.example.com"'})
            return
        assert self.path == "/EWS/Exchange.asmx", self.path
        assert self.headers.get_content_type() == "text/xml", self.headers["Content-Type"]
        status, text = server.handle(body)
        self._reply(status, text.encode(), {"Content-Type": "text/xml; charset=utf-8"})

    def _authorised(self, server: EwsServer) -> bool:
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        try:
            user, _, password = base64.b64decode(token, validate=True).decode("latin-1").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return scheme == "Basic" and (user, password) == (server.username, server.password)

    def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        pass


# -- what Exchange 2016 answers ---------------------------------------------------------

_HEADER = (
    '<s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" '
    f'MinorBuildNumber="6" Version="V2017_07_11" xmlns:h="{T}" xmlns="{T}"/></s:Header>'
)


def _envelope(body: str, header: str = _HEADER) -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP}">{header}'
            f"<s:Body>{body}</s:Body></s:Envelope>")


def _response(operation: str, messages: list[str]) -> str:
    return _envelope(f'<m:{operation}Response xmlns:m="{M}" xmlns:t="{T}">'
                     f"<m:ResponseMessages>{''.join(messages)}</m:ResponseMessages></m:{operation}Response>")


def _message(operation: str, code: str, text: str = "", content: str = "") -> str:
    if code == "NoError":
        return (f'<m:{operation}ResponseMessage ResponseClass="Success">'
                f"<m:ResponseCode>NoError</m:ResponseCode>{content}</m:{operation}ResponseMessage>")
    return (f'<m:{operation}ResponseMessage ResponseClass="Error"><m:MessageText>{escape(text)}</m:MessageText>'
            f"<m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>"
            f"</m:{operation}ResponseMessage>")


def _answer(messages: list[str]) -> str:
    for message in messages:
        if "<m:ResponseCode>NoError" not in message:
            return message.split("<m:ResponseCode>")[1].split("<")[0]
    return "Success"


FAULT_TEXT = {
    "ErrorSchemaValidation": "The request failed schema validation.",
    "ErrorServerBusy": "The server cannot service this request right now. Try again later.",
}


def _fault(code: str) -> str:
    text = FAULT_TEXT.get(code, "An internal server error occurred. The operation failed.")
    detail = ""
    if code == "ErrorServerBusy":
        detail = (f'<t:MessageXml xmlns:t="{T}"><t:Value Name="BackOffMilliseconds">1000</t:Value>'
                  "</t:MessageXml>")
    return _envelope(
        f'<s:Fault><faultcode xmlns:a="{T}">a:{code}</faultcode>'
        f'<faultstring xml:lang="en-US">{escape(text)}</faultstring><detail>'
        f'<e:ResponseCode xmlns:e="{ERRORS}">{code}</e:ResponseCode>'
        f'<e:Message xmlns:e="{ERRORS}">{escape(text)}</e:Message>{detail}</detail></s:Fault>',
        header="",
    )



