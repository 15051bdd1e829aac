"""What Laurel's SCIM service publishes about itself (RFC 7643 section 5-7, RFC 7644 section 4), and the
attribute definitions the service reads and writes resources with.

Laurel publishes only the attributes it keeps: a directory (and a compliance checker) then sends and
expects exactly those. Attributes a directory sends that are not here (Entra's `title`, phone numbers,
addresses ...) are ignored, as RFC 7644 lets a service provider do, so a default attribute mapping in
Entra ID or Okta provisions without errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CORE = "urn:ietf:params:scim:schemas:core:2.0:"
USER_SCHEMA = CORE + "User"
GROUP_SCHEMA = CORE + "Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

MAX_RESULTS = 200  # the most resources one list or search answer holds
MAX_OPERATIONS = 200  # PATCH operations in one request
MAX_VALUES = 100  # values of one multi-valued attribute (emails); members have their own limit
MAX_MEMBERS = 1000  # members one PUT/PATCH/POST of a group may name


@dataclass(frozen=True)
class Attribute:
    """One attribute definition (RFC 7643 section 7), also used to read what a client sends."""

    name: str
    type: str = "string"  # string | boolean | complex | reference | dateTime | integer
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    max_length: int = 200
    canonical: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub: tuple[Attribute, ...] = ()
    description: str = ""

    def child(self, name: str) -> Attribute | None:
        return find(self.sub, name)

    def document(self) -> dict:
        doc: dict = {"name": self.name, "type": self.type, "multiValued": self.multi_valued,
                     "description": self.description or self.name, "required": self.required,
                     "caseExact": self.case_exact, "mutability": self.mutability, "returned": self.returned,
                     "uniqueness": self.uniqueness}
        if self.canonical:
            doc["canonicalValues"] = list(self.canonical)
        if self.reference_types:
            doc["referenceTypes"] = list(self.reference_types)
        if self.sub:
            doc["subAttributes"] = [a.document() for a in self.sub]
        return doc


def find(attributes: tuple[Attribute, ...], name: str) -> Attribute | None:
    """Attribute names are case-insensitive (RFC 7643 section 2.1)."""
    lowered = name.lower()
    return next((a for a in attributes if a.name.lower() == lowered), None)


@dataclass(frozen=True)
class Schema:
    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...] = field(default_factory=tuple)

    def document(self, base: str) -> dict:
        return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"], "id": self.id, "name": self.name,
                "description": self.description, "attributes": [a.document() for a in self.attributes],
                "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{self.id}"}}


USER = Schema(USER_SCHEMA, "User", "A person who earns certificates in Laurel", (
    Attribute("userName", required=True, uniqueness="server", max_length=254,
              description="Unique identifier for the user, typically their sign-in name (UPN or email)"),
    Attribute("name", "complex", description="The components of the user's name", sub=(
        Attribute("formatted", description="The full name"),
        Attribute("familyName", description="The family name"),
        Attribute("givenName", description="The given name"),
        Attribute("middleName", description="The middle name"),
    )),
    Attribute("displayName", description="The name shown in Laurel"),
    # Required here (optional in RFC 7643): Laurel always knows whether a person may sign in, so the
    # attribute cannot be "unassigned"; a create without it still makes an active user.
    Attribute("active", "boolean", required=True,
              description="Whether the user may sign in (false: deactivated); true when not sent"),
    Attribute("emails", "complex", multi_valued=True,
              description="Email addresses; the primary (or first) one is the Laurel sign-in address", sub=(
                  Attribute("value", max_length=254, description="The email address"),
                  Attribute("type", canonical=("work", "home", "other"), description="work, home or other"),
                  Attribute("primary", "boolean", description="The preferred address"),
              )),
    Attribute("groups", "complex", multi_valued=True, mutability="readOnly",
              description="The group (Laurel department) the user belongs to", sub=(
                  Attribute("value", mutability="readOnly", description="The group's id"),
                  Attribute("$ref", "reference", mutability="readOnly", reference_types=("Group",),
                            description="The group's URI"),
                  Attribute("display", mutability="readOnly", description="The group's name"),
              )),
))

ENTERPRISE = Schema(ENTERPRISE_SCHEMA, "EnterpriseUser", "Enterprise user: the department", (
    Attribute("department", max_length=120,
              description="Sets the Laurel department (created when new), like membership of a group"),
))

GROUP = Schema(GROUP_SCHEMA, "Group", "A group of people: a Laurel department", (
    Attribute("displayName", required=True, uniqueness="server", max_length=120,
              description="The department's name"),
    Attribute("members", "complex", multi_valued=True,
              description="The users in the department (a user is in one department at a time)", sub=(
                  Attribute("value", mutability="immutable", max_length=64, description="The user's id"),
                  Attribute("$ref", "reference", mutability="immutable", reference_types=("User",),
                            max_length=500, description="The user's URI"),
              )),
))


def _meta_schema(schema_id: str, name: str, attributes: tuple[Attribute, ...]) -> Schema:
    return Schema(CORE + schema_id, name, f"SCIM {name} (discovery)", attributes)


_RO = "readOnly"
META_SCHEMAS = (
    _meta_schema("ServiceProviderConfig", "ServiceProviderConfig", (
        Attribute("documentationUri", "reference", mutability=_RO, reference_types=("external",)),
        Attribute("patch", "complex", required=True, mutability=_RO,
                  sub=(Attribute("supported", "boolean", required=True, mutability=_RO),)),
        Attribute("filter", "complex", required=True, mutability=_RO, sub=(
            Attribute("supported", "boolean", required=True, mutability=_RO),
            Attribute("maxResults", "integer", mutability=_RO),
        )),
        Attribute("etag", "complex", required=True, mutability=_RO,
                  sub=(Attribute("supported", "boolean", required=True, mutability=_RO),)),
    )),
    _meta_schema("ResourceType", "ResourceType", (
        Attribute("name", required=True, mutability=_RO),
        Attribute("endpoint", "reference", required=True, mutability=_RO, reference_types=("uri",)),
        Attribute("schema", "reference", required=True, case_exact=True, mutability=_RO,
                  reference_types=("uri",)),
    )),
    _meta_schema("Schema", "Schema", (
        Attribute("name", mutability=_RO),
        Attribute("description", mutability=_RO),
    )),
)

SCHEMAS = (USER, ENTERPRISE, GROUP, *META_SCHEMAS)


def schema_documents(base: str) -> list[dict]:
    return [s.document(base) for s in SCHEMAS]


def schema_document(schema_id: str, base: str) -> dict | None:
    found = next((s for s in SCHEMAS if s.id == schema_id), None)
    return found.document(base) if found else None


def resource_types(base: str) -> list[dict]:
    def resource_type(name: str, endpoint: str, schema: str, extensions: tuple[str, ...] = ()) -> dict:
        doc = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"], "id": name, "name": name,
               "endpoint": endpoint, "description": f"Laurel {name.lower()}s", "schema": schema,
               "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/{name}"}}
        if extensions:
            doc["schemaExtensions"] = [{"schema": e, "required": False} for e in extensions]
        return doc

    return [resource_type("User", "/Users", USER_SCHEMA, (ENTERPRISE_SCHEMA,)),
            resource_type("Group", "/Groups", GROUP_SCHEMA)]


def service_provider_config(base: str) -> dict:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": True},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "Bearer token",
            "description": "The directory's token from Laurel's Admin > Directories (SCIM) page",
            "primary": True,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base}/ServiceProviderConfig"},
    }
