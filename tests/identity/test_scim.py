"""SCIM 2 provisioning (/scim/v2): each operation, the errors (always a SCIM error body, never a 5xx), the
tokens, groups as departments, and hostile input. The compliance checker runs in test_scim_compliance.py."""

from __future__ import annotations

import json

import pytest

from app.extensions import db
from app.models import Department, OutboxEmail, User
from app.models.scim import ScimUser
from app.services.accounts import departments, tokens
from app.services.identity import scim_directories

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


class Scim:
    """A directory's client: JSON in, the response out."""

    def __init__(self, client, token: str) -> None:
        self.client, self.token = client, token

    def __call__(self, method: str, path: str, body=None, *, raw: bytes | str | None = None, headers=None):
        sent = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/scim+json",
                **(headers or {})}
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        return self.client.open(f"/scim/v2{path}", method=method, data=data, headers=sent)

    def create_user(self, user_name: str, **extra):
        response = self("POST", "/Users", {"schemas": [USER], "userName": user_name, **extra})
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def query(self, path: str, **params):
        return self.client.get(f"/scim/v2{path}", query_string=params,
                               headers={"Authorization": f"Bearer {self.token}"})

    def patch(self, path: str, *operations: dict, headers=None):
        return self("PATCH", path, {"schemas": [PATCH], "Operations": list(operations)}, headers=headers)


def new_directory(name: str = "Entra", **options) -> str:
    _, token = scim_directories.create_directory(name, send_invitations=options.get("invite", False),
                                                 actor="test")
    db.session.commit()
    return token


@pytest.fixture
def scim(client):
    return Scim(client, new_directory())


def assert_error(response, status: int, scim_type: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/scim+json"
    body = response.get_json()
    assert body["schemas"] == [ERROR] and body["status"] == str(status) and body["detail"]
    if scim_type:
        assert body.get("scimType") == scim_type, body
    return body


def laurel_user(scim_id: str) -> User:
    db.session.expire_all()
    return db.session.scalar(db.select(User).join(ScimUser).where(ScimUser.scim_id == scim_id))


# -- tokens -----------------------------------------------------------------------------------------------

def test_every_request_needs_a_live_directory_token(client, admin):
    for headers in ({}, {"Authorization": "Bearer scim_nope"}, {"Authorization": "Basic abc"}):
        response = client.get("/scim/v2/Users", headers=headers)
        assert_error(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    _, api_token = tokens.create_token(admin, "script")
    db.session.commit()
    assert_error(client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {api_token}"}), 401)

    directory, token = scim_directories.create_directory("Okta", send_invitations=False, actor="test")
    db.session.commit()
    scim = Scim(client, token)
    assert scim("GET", "/Users").status_code == 200
    assert db.session.get(type(directory), directory.id).last_used_at is not None
    scim_directories.revoke_directory(directory, actor="test")
    db.session.commit()
    assert_error(scim("GET", "/Users"), 401)


def test_a_directory_sees_only_what_it_provisioned(client, scim):
    user = scim.create_user("ann@example.com")
    group = scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "Nursing"}).get_json()
    other = Scim(client, new_directory("Okta"))
    assert_error(other("GET", f"/Users/{user['id']}"), 404)
    assert_error(other("PATCH", f"/Users/{user['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "active", "value": False}]}), 404)
    assert_error(other("DELETE", f"/Groups/{group['id']}"), 404)
    assert other("GET", '/Users?filter=userName eq "ann@example.com"').get_json()["totalResults"] == 0
    taken = other("POST", "/Users", {"schemas": [USER], "userName": "ann@example.com"})
    assert_error(taken, 409, "uniqueness")
    assert laurel_user(user["id"]).active


def test_no_csrf_and_no_session_needed(app, scim):
    # The app-wide CSRF check does not apply: the token is the credential (like the API).
    assert scim("POST", "/Users", {"schemas": [USER], "userName": "bo@example.com"}).status_code == 201


# -- discovery --------------------------------------------------------------------------------------------

def test_discovery_documents(scim):
    config = scim("GET", "/ServiceProviderConfig")
    assert config.status_code == 200 and config.mimetype == "application/scim+json"
    assert config.get_json()["patch"]["supported"] and config.get_json()["etag"]["supported"]
    types = scim("GET", "/ResourceTypes").get_json()
    assert {t["name"] for t in types["Resources"]} == {"User", "Group"}
    assert scim("GET", "/ResourceTypes/User").get_json()["endpoint"] == "/Users"
    schemas = scim("GET", "/Schemas").get_json()["Resources"]
    assert {s["id"] for s in schemas} >= {USER, GROUP, ENTERPRISE}
    user_schema = scim("GET", f"/Schemas/{USER}").get_json()
    assert user_schema["meta"]["location"] == f"http://localhost/scim/v2/Schemas/{USER}"
    assert_error(scim("GET", "/Schemas/urn:nope"), 404)
    assert_error(scim("GET", "/ResourceTypes/Nope"), 404)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = scim(method, "/ServiceProviderConfig", {})
        assert_error(response, 405)
        assert response.headers["Allow"] == "GET"
    assert_error(scim("GET", "/Nothing/here"), 404)
    assert_error(scim("PUT", "/Users", {}), 405)


# -- users ------------------------------------------------------------------------------------------------

def test_create_a_learner_without_password_or_invitation(scim):
    response = scim("POST", "/Users", {
        "schemas": [USER, ENTERPRISE], "userName": "Ann.Lee@Example.com", "externalId": "e-1",
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": "ann.lee@example.com", "type": "work", "primary": True}],
        "title": "Nurse", "phoneNumbers": [{"value": "123"}],  # not kept by Laurel: ignored, no error
        ENTERPRISE: {"department": "Nursing"}})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"] == body["meta"]["location"] == f"http://localhost/scim/v2/Users/{body['id']}"
    assert response.headers["ETag"] == body["meta"]["version"]
    assert len(body["id"]) == 32 and not body["id"].isdigit()  # random, not the row id
    assert body["userName"] == "Ann.Lee@Example.com" and body["active"] is True
    assert "title" not in body and body[ENTERPRISE] == {"department": "Nursing"}
    user = laurel_user(body["id"])
    assert (user.email, user.name, user.role) == ("ann.lee@example.com", "Ann Lee", "learner")
    assert user.password_hash is None
    assert user.department_ref.name == "Nursing"
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxEmail)) == 0


def test_invitation_only_when_the_directory_says_so(client):
    scim = Scim(client, new_directory("Okta", invite=True))
    scim.create_user("cara@example.com")
    mail = db.session.scalar(db.select(OutboxEmail))
    assert mail is not None and mail.to == "cara@example.com" and mail.template == "invite"


def test_a_user_name_that_is_not_an_address_gets_an_undeliverable_placeholder(scim):
    body = scim.create_user("u-12345")
    user = laurel_user(body["id"])
    assert user.email.endswith("@scim.invalid") and not user.reminder_emails
    scim.patch(f"/Users/{body['id']}", {"op": "add", "path": "emails",
                                        "value": [{"value": "dee@example.com"}]})
    user = laurel_user(body["id"])
    assert user.email == "dee@example.com" and user.reminder_emails


def test_get_list_filter_and_pages(scim):
    ids = [scim.create_user(f"p{n}@example.com", externalId=f"x{n}", displayName=f"Person {n}")["id"]
           for n in range(5)]
    assert scim("GET", f"/Users/{ids[0]}").get_json()["userName"] == "p0@example.com"
    listed = scim("GET", "/Users?startIndex=2&count=2").get_json()
    assert listed["totalResults"] == 5 and listed["startIndex"] == 2 and listed["itemsPerPage"] == 2
    assert [r["id"] for r in listed["Resources"]] == ids[1:3]
    for query, expected in (('userName eq "P3@EXAMPLE.COM"', [ids[3]]), ('externalId eq "x4"', [ids[4]]),
                            ('emails.value eq "p1@example.com"', [ids[1]]),
                            ('emails[value eq "p2@example.com"]', [ids[2]]),
                            ('displayName eq "person 0"', [ids[0]]), (f'id eq "{ids[2]}"', [ids[2]]),
                            ('userName sw "p1" or userName sw "p2"', ids[1:3]),
                            ('active eq true and not (userName co "p0")', ids[1:]),
                            ('externalId eq "X4"', [])):  # externalId is case-exact
        found = scim.query("/Users", filter=query).get_json()
        assert [r["id"] for r in found["Resources"]] == expected, query
    only = scim("GET", f"/Users/{ids[0]}?attributes=userName").get_json()
    assert set(only) == {"schemas", "id", "userName"}
    without = scim("GET", f"/Users/{ids[0]}?excludedAttributes=displayName,meta").get_json()
    assert "displayName" not in without and "meta" not in without and without["userName"]
    search = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
    searched = scim("POST", "/Users/.search", {"schemas": [search], "filter": 'userName eq "p1@example.com"',
                                                "attributes": ["id"]})
    assert [r["id"] for r in searched.get_json()["Resources"]] == [ids[1]]
    everything = scim("POST", "/.search", {"schemas": [search], "filter": 'userName eq "p1@example.com"'})
    assert everything.get_json()["totalResults"] == 1


@pytest.mark.parametrize("start,count,expected_start,expected_items", [
    ("0", "2", 1, 2), ("-5", "1", 1, 1), ("99999999999999999999999999", "5", 1_000_000_000, 0),
    ("1", "0", 1, 0), ("1", "-3", 1, 0), ("1", "100000000000000000000", 1, 3), ("+2", " 1 ", 2, 1)])
def test_paging_extremes_are_clamped(scim, start, count, expected_start, expected_items):
    for n in range(3):
        scim.create_user(f"q{n}@example.com")
    response = scim("GET", f"/Users?startIndex={start}&count={count}")
    body = response.get_json()
    assert response.status_code == 200 and body["totalResults"] == 3
    assert body["startIndex"] == expected_start and len(body["Resources"]) == expected_items


@pytest.mark.parametrize("query", ["abc", "1.5", "²", "0x10", "1e3", "+-5", "--1", "1_000", "٣"])
def test_paging_that_is_not_a_number_is_400(scim, query):
    assert_error(scim.query("/Users", startIndex=query), 400, "invalidValue")
    assert_error(scim.query("/Users", count=query), 400, "invalidValue")


@pytest.mark.parametrize("query", [
    'name.givenName eq "Ann"',  # not searchable
    'userName eq',  # no value
    'userName xx "a"',  # unknown operator
    'userName eq "a" or',  # ends too early
    'userName eq "a\\" or \\"1\\"=\\"1"',  # quotes inside a string stay in the string: fine, then junk
    "userName eq 'a' or 1 eq 1",  # single quotes are not strings
    'userName eq "a"; DROP TABLE users; --',
    '(' * 40 + 'userName eq "a"' + ')' * 40,  # too deep
    'userName gt "a"',  # no ordering on strings
    'active eq "yes"',
    'urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "x"',  # another schema's attribute
    'emails[type eq "work"]',  # only value inside brackets
    'userName eq "' + "a" * 3000 + '"',
])
def test_filters_laurel_cannot_read_are_400_invalid_filter(scim, query):
    scim.create_user("ann@example.com")
    response = scim.query("/Users", filter=query)
    if response.status_code == 200:  # a harmless reading is fine, as long as it finds nothing extra
        assert response.get_json()["totalResults"] == 0, query
    else:
        assert_error(response, 400, "invalidFilter")
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1


def test_nul_anywhere_in_the_address_is_400(scim):
    assert_error(scim.query("/Users", filter='userName eq "\x00"'), 400)
    assert_error(scim("GET", "/Users/%00"), 400)


def test_put_replaces(scim):
    body = scim.create_user("ann@example.com", name={"givenName": "Ann", "familyName": "Lee"},
                            emails=[{"value": "ann@example.com", "primary": True}])
    response = scim("PUT", f"/Users/{body['id']}", {"schemas": [USER], "userName": "ann@example.com",
                                                    "displayName": "Ann Smith", "active": True})
    replaced = response.get_json()
    assert response.status_code == 200 and "name" not in replaced and "emails" not in replaced
    assert replaced["meta"]["version"] != body["meta"]["version"]
    user = laurel_user(body["id"])
    assert user.name == "Ann Smith" and user.email == "ann@example.com"  # the last real address stays


def test_patch_add_replace_remove(scim):
    body = scim.create_user("ann@example.com", name={"givenName": "Ann", "familyName": "Lee"})
    path = f"/Users/{body['id']}"
    response = scim.patch(
        path,
        {"op": "Add", "path": 'emails[type eq "work"].value', "value": "ann.work@example.com"},  # Entra ID
        {"op": "Replace", "path": "name.familyName", "value": "Smith"},
        {"op": "replace", "value": {"displayName": "Ann S.", "externalId": "e-9"}},  # Okta: no path
        {"op": "remove", "path": "name.givenName"})
    patched = response.get_json()
    assert response.status_code == 200, patched
    assert patched["emails"] == [{"type": "work", "value": "ann.work@example.com"}]
    assert patched["name"] == {"familyName": "Smith"} and patched["externalId"] == "e-9"
    user = laurel_user(body["id"])
    assert user.name == "Ann S." and user.email == "ann.work@example.com"
    assert_error(scim.patch(path, {"op": "remove", "path": "userName"}), 400, "invalidValue")
    assert_error(scim.patch(path, {"op": "remove", "path": "active"}), 400, "invalidValue")
    assert_error(scim.patch(path, {"op": "remove"}), 400, "noTarget")
    assert_error(scim.patch(path, {"op": "move", "path": "userName", "value": "x"}), 400, "invalidSyntax")
    assert_error(scim.patch(path, {"op": "replace", "path": "id", "value": "x"}), 400, "mutability")
    bad_path = scim.patch(path, {"op": "replace", "path": "emails[type eq]", "value": "x"})
    assert_error(bad_path, 400, "invalidPath")
    assert_error(scim("PATCH", path, {"Operations": []}), 400, "invalidSyntax")
    # Attributes Laurel does not keep are ignored, as in a POST (Entra sends title, phone numbers ...).
    assert scim.patch(path, {"op": "add", "path": "title", "value": "Nurse"}).status_code == 200


@pytest.mark.parametrize("value", [False, "False", "false"])
def test_patch_active_false_deactivates_and_ends_sessions(scim, value):
    body = scim.create_user("ann@example.com")
    before = laurel_user(body["id"]).session_version
    response = scim.patch(f"/Users/{body['id']}", {"op": "Replace", "path": "active", "value": value})
    assert response.status_code == 200 and response.get_json()["active"] is False
    user = laurel_user(body["id"])
    assert not user.active and user.session_version > before
    scim.patch(f"/Users/{body['id']}", {"op": "replace", "value": {"active": True}})
    assert laurel_user(body["id"]).active


def test_delete_deactivates_and_the_resource_is_gone(scim, make_user):
    body = scim.create_user("ann@example.com")
    user_id = laurel_user(body["id"]).id
    assert scim("DELETE", f"/Users/{body['id']}").status_code == 204
    user = db.session.get(User, user_id)
    assert user is not None and not user.active  # the row (and its certificates) stay
    assert_error(scim("GET", f"/Users/{body['id']}"), 404)
    assert_error(scim("DELETE", f"/Users/{body['id']}"), 404)
    assert scim("GET", "/Users").get_json()["totalResults"] == 0
    again = scim.create_user("ann@example.com")  # the directory brings them back: same account, active
    assert again["id"] != body["id"] and laurel_user(again["id"]).id == user_id
    assert laurel_user(again["id"]).active


def test_existing_accounts_learners_are_linked_staff_and_admins_are_not(scim, make_user):
    learner = make_user("learner", email="lena@example.com")
    linked = scim.create_user("lena@example.com", displayName="Lena Berg")
    assert laurel_user(linked["id"]).id == learner.id and laurel_user(linked["id"]).name == "Lena Berg"
    make_user("admin", email="boss@example.com")
    make_user("learner", email="gone@example.com", active=False)
    for taken in ("boss@example.com", "gone@example.com"):
        assert_error(scim("POST", "/Users", {"schemas": [USER], "userName": taken}), 409, "uniqueness")
    # An update may not take another person's address either.
    stolen = scim.patch(f"/Users/{linked['id']}", {"op": "replace", "path": "emails",
                                                   "value": [{"value": "boss@example.com"}]})
    assert_error(stolen, 409, "uniqueness")


def test_user_name_collision_is_409(scim):
    scim.create_user("ann@example.com")
    assert_error(scim("POST", "/Users", {"schemas": [USER], "userName": "ANN@example.com",
                                         "emails": [{"value": "other@example.com"}]}), 409, "uniqueness")
    other = scim.create_user("bob@example.com")
    assert_error(scim.patch(f"/Users/{other['id']}", {"op": "replace", "path": "userName",
                                                      "value": "Ann@Example.com"}), 409, "uniqueness")


@pytest.mark.parametrize("payload", [
    {"userName": "ann\x00@example.com"},
    {"userName": "ann\n@example.com"},
    {"userName": ""},
    {"userName": "a" * 255},
    {"userName": 12},
    {"userName": ["a"]},
    {},
    {"userName": "ann@example.com", "name": "Ann"},
    {"userName": "ann@example.com", "name": {"givenName": "A\u2028nn"}},
    {"userName": "ann@example.com", "displayName": "x" * 201},
    {"userName": "ann@example.com", "emails": [{"value": "not an address"}]},
    {"userName": "ann@example.com", "emails": [{"value": f"a{n}@example.com"} for n in range(101)]},
    {"userName": "ann@example.com", "active": "maybe"},
    {"userName": "ann@example.com", ENTERPRISE: {"department": "\x00"}},
    [1, 2],
    "text",
])
def test_bad_users_are_400_and_nothing_changes(scim, payload):
    response = scim("POST", "/Users", payload)
    assert_error(response, 400)
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


@pytest.mark.parametrize("raw,status", [
    ('{"userName": "a@example.com", "userName": "b@example.com"}', 400),  # duplicate keys
    ("[" * 5000 + "]" * 5000, 400),  # deep JSON
    ('{"userName": NaN}', 400),
    ("{not json", 400),
    ('{"userName": "' + "a" * (2 * 1024 * 1024) + '"}', 413),  # over the body limit
    (b"\xff\xfe\x00", 400),
])
def test_unreadable_bodies(scim, raw, status):
    response = scim("POST", "/Users", raw=raw)
    assert_error(response, status)
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_etags(scim):
    body = scim.create_user("ann@example.com")
    path, version = f"/Users/{body['id']}", body["meta"]["version"]
    assert scim("GET", path, headers={"If-None-Match": version}).status_code == 304
    assert scim.patch(path, {"op": "replace", "path": "displayName", "value": "A"},
                      headers={"If-Match": version}).status_code == 200
    assert_error(scim.patch(path, {"op": "replace", "path": "displayName", "value": "B"},
                            headers={"If-Match": version}), 412)
    assert_error(scim("DELETE", path, headers={"If-Match": version}), 412)
    assert laurel_user(body["id"]).name == "A"
    assert scim("DELETE", path, headers={"If-Match": "*"}).status_code == 204


def test_huge_numbers_and_odd_ids_in_paths(scim):
    for path in ("/Users/99999999999999999999999999", "/Users/" + "a" * 5000, "/Groups/-1",
                 "/Users/..%2F..%2Fadmin"):
        assert scim("GET", path).status_code in (404,), path


# -- groups = departments ---------------------------------------------------------------------------------

def test_groups_are_departments_and_membership_sets_the_department(scim):
    ann, bob = scim.create_user("ann@example.com"), scim.create_user("bob@example.com")
    response = scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "Nursing", "externalId": "g-1",
                                        "members": [{"value": ann["id"]}]})
    assert response.status_code == 201, response.get_json()
    group = response.get_json()
    assert group["members"] == [{"value": ann["id"], "$ref": f"http://localhost/scim/v2/Users/{ann['id']}"}]
    nursing = departments.by_name("nursing")
    assert nursing is not None and laurel_user(ann["id"]).department_id == nursing.id
    # Entra ID adds members with PATCH add, removes them with a filter or with a value list.
    path = f"/Groups/{group['id']}"
    added = scim.patch(path, {"op": "Add", "path": "members", "value": [{"value": bob["id"]}]})
    assert added.status_code == 200
    assert laurel_user(bob["id"]).department_id == nursing.id
    assert scim.patch(path, {"op": "Remove", "path": f'members[value eq "{ann["id"]}"]'}).status_code == 200
    assert laurel_user(ann["id"]).department_id is None
    removed = scim.patch(path, {"op": "Remove", "path": "members", "value": [{"value": bob["id"]}]})
    assert removed.status_code == 200
    assert laurel_user(bob["id"]).department_id is None
    found = scim.query("/Groups", filter='displayName eq "NURSING"').get_json()
    assert [g["id"] for g in found["Resources"]] == [group["id"]]
    user_view = scim("GET", f"/Users/{ann['id']}").get_json()
    assert "groups" not in user_view
    scim.patch(path, {"op": "add", "value": {"members": [{"value": ann["id"]}]}})
    assert scim("GET", f"/Users/{ann['id']}").get_json()["groups"][0]["display"] == "Nursing"
    member_filter = f'id eq "{group["id"]}" and members[value eq "{ann["id"]}"]'
    found = scim.query("/Groups", filter=member_filter, excludedAttributes="members").get_json()
    assert found["totalResults"] == 1 and "members" not in found["Resources"][0]


def test_group_put_rename_and_delete(scim, make_user):
    ann, bob = scim.create_user("ann@example.com"), scim.create_user("bob@example.com")
    group = scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "Nursing",
                                     "members": [{"value": ann["id"]}]}).get_json()
    local = make_user("learner", email="local@example.com")
    departments.assign(local, departments.by_name("Nursing"), actor="test")
    db.session.commit()
    response = scim("PUT", f"/Groups/{group['id']}", {"schemas": [GROUP], "displayName": "Nursing School",
                                                      "members": [{"value": bob["id"]}]})
    assert response.status_code == 200 and response.get_json()["displayName"] == "Nursing School"
    assert laurel_user(ann["id"]).department_id is None
    department = departments.by_name("Nursing School")
    assert laurel_user(bob["id"]).department_id == department.id
    assert db.session.get(User, local.id).department_id == department.id  # people Laurel placed stay
    assert scim("DELETE", f"/Groups/{group['id']}").status_code == 204
    assert_error(scim("GET", f"/Groups/{group['id']}"), 404)
    assert laurel_user(bob["id"]).department_id is None
    assert departments.by_name("Nursing School") is not None  # someone else is still in it


def test_deleting_a_group_deletes_the_empty_department_it_created(scim):
    group = scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "Temp"}).get_json()
    assert scim("DELETE", f"/Groups/{group['id']}").status_code == 204
    assert departments.by_name("Temp") is None


def test_an_existing_department_is_adopted_once(scim, client):
    departments.find_or_create("Pharmacy", actor="test")
    db.session.commit()
    group = scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "pharmacy"}).get_json()
    assert group["displayName"] == "Pharmacy"
    assert_error(scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "PHARMACY"}), 409, "uniqueness")
    other = Scim(client, new_directory("Okta"))
    assert_error(other("POST", "/Groups", {"schemas": [GROUP], "displayName": "Pharmacy"}), 409, "uniqueness")
    scim("DELETE", f"/Groups/{group['id']}")
    assert departments.by_name("Pharmacy") is not None  # not created by the group: stays
    assert db.session.scalar(db.select(db.func.count()).select_from(Department)) == 1


@pytest.mark.parametrize("payload,status,scim_type", [
    ({"displayName": ""}, 400, "invalidValue"),
    ({"displayName": "x\x00"}, 400, "invalidValue"),
    ({"displayName": "x" * 121}, 400, "invalidValue"),
    ({"displayName": "Ok", "members": [{"value": "nobody"}]}, 400, "invalidValue"),
    ({"displayName": "Ok", "members": [{"$ref": "http://localhost/scim/v2/Users/nobody"}]}, 400,
     "invalidValue"),
    ({"displayName": "Ok", "members": "all"}, 400, "invalidValue"),
    ({"displayName": "Ok", "members": [{"value": str(n)} for n in range(1001)]}, 400, "tooMany"),
])
def test_bad_groups(scim, payload, status, scim_type):
    assert_error(scim("POST", "/Groups", {"schemas": [GROUP], **payload}), status, scim_type)
    assert db.session.scalar(db.select(db.func.count()).select_from(Department)) == 0


def test_members_of_another_directory_are_refused(scim, client):
    other = Scim(client, new_directory("Okta"))
    stranger = other.create_user("x@example.com")
    group = scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "Nursing"}).get_json()
    refused = scim.patch(f"/Groups/{group['id']}", {"op": "add", "path": "members",
                                                    "value": [{"value": stranger["id"]}]})
    assert_error(refused, 400, "invalidValue")
    assert laurel_user(stranger["id"]).department_id is None


def test_a_page_of_users_or_groups_costs_the_same_queries_whatever_its_size(scim, statements):
    def listing_cost(prefix: str, size: int) -> tuple[int, int]:
        people = [scim.create_user(f"{prefix}{n}@example.com")["id"] for n in range(size)]
        scim("POST", "/Groups", {"schemas": [GROUP], "displayName": f"Group {prefix}",
                                 "members": [{"value": i} for i in people]})
        costs = []
        paths = (f'/Users?filter=userName sw "{prefix}"', f'/Groups?filter=displayName eq "Group {prefix}"')
        for path in paths:
            statements.clear()
            assert scim("GET", path).status_code == 200
            costs.append(len(statements))
        return costs[0], costs[1]

    assert listing_cost("a", 2) == listing_cost("b", 12)


def test_a_provisioned_person_signs_in_with_sso_to_the_same_account(scim):
    from app.services.errors import NotAllowed
    from app.services.identity.provisioning import ExternalIdentity, ProvisioningPolicy, sign_in_user

    body = scim.create_user("ann@example.com", emails=[{"value": "ann@example.com", "primary": True}])
    identity = ExternalIdentity(provider_key="oidc:entra", subject="sub-1", email="ann@example.com",
                                email_verified=True, name="Ann")
    policy = ProvisioningPolicy(create_accounts=False)
    assert sign_in_user(identity, policy, actor_label="test").id == laurel_user(body["id"]).id
    db.session.commit()
    scim("DELETE", f"/Users/{body['id']}")
    with pytest.raises(NotAllowed):
        sign_in_user(identity, policy, actor_label="test")


# -- the admin page ---------------------------------------------------------------------------------------

def test_admin_creates_a_directory_sees_the_token_once_and_revokes_it(login_as, admin, client):
    browser = login_as(admin)
    page = browser.get("/admin/directories")
    assert page.status_code == 200 and b"http://localhost/scim/v2" in page.data
    created = browser.post("/admin/directories", data={"name": "Microsoft Entra ID",
                                                       "csrf_token": browser.csrf_token})
    assert created.status_code == 200
    token = created.get_data(as_text=True).split('id="new-token" value="')[1].split('"')[0]
    assert token.startswith("scim_")
    assert token not in browser.get("/admin/directories").get_data(as_text=True)  # shown once
    assert Scim(client, token)("GET", "/Users").status_code == 200
    directory = scim_directories.directories()[0]
    assert browser.post(f"/admin/directories/{directory.id}/revoke",
                        data={"csrf_token": browser.csrf_token}).status_code == 302
    assert_error(Scim(client, token)("GET", "/Users"), 401)
    refused = browser.post("/admin/directories", data={"name": "a\x01b", "csrf_token": browser.csrf_token})
    assert refused.status_code in (400, 422)
