"""SCIM resources as documents: read what a client sent against the published attributes, apply PATCH
operations to a document, and cut an answer down to the `attributes` / `excludedAttributes` asked for.

A document is the resource's writable attributes under their canonical names (`userName`, `name`,
`emails` ..., an extension under its schema URN). The service turns documents into Laurel rows.
"""

from __future__ import annotations

import copy

from app.rules import plain_text
from app.services.identity import scim_filters
from app.services.identity.scim_schema import (
    CORE,
    MAX_OPERATIONS,
    MAX_VALUES,
    PATCH_OP,
    Attribute,
    Schema,
    find,
)

EXTERNAL_ID = Attribute("externalId", case_exact=True, max_length=254,
                        description="The directory's own id for the resource")
MAX_PATH = 500


class ScimError(Exception):
    """A request the service refuses: HTTP status, SCIM error type (RFC 7644 section 3.12), detail."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type


def invalid(detail: str, scim_type: str = "invalidValue") -> ScimError:
    return ScimError(400, detail, scim_type)


class Shape:
    """The attributes of one resource type: its core schema, its extensions, and externalId."""

    def __init__(self, core: Schema, extensions: tuple[Schema, ...] = ()) -> None:
        self.core, self.extensions = core, extensions
        self.attributes = (EXTERNAL_ID, *core.attributes)

    def attribute(self, name: str) -> Attribute | None:
        return find(self.attributes, name)

    def extension(self, urn: str) -> Schema | None:
        return next((e for e in self.extensions if e.id.lower() == urn.lower()), None)


# -- reading values --------------------------------------------------------------------------------------

def clean_document(shape: Shape, payload: object) -> dict:
    """The writable attributes of `payload` under canonical names, checked. Read-only and unknown
    attributes are ignored (RFC 7644 section 3.3); a wrong type or an unusable string is 400."""
    if not isinstance(payload, dict):
        raise invalid("The body must be a JSON object.", "invalidSyntax")
    document: dict = {}
    for key, value in payload.items():
        extension = shape.extension(key) if key.lower().startswith("urn:") else None
        if extension is not None:
            cleaned = _clean_complex(extension.attributes, value, extension.id)
            if cleaned:
                document[extension.id] = cleaned
            continue
        attribute = shape.attribute(key)
        if attribute is None or attribute.mutability == "readOnly":
            continue
        cleaned = clean_value(attribute, value, attribute.name)
        if cleaned is not None:
            document[attribute.name] = cleaned
    return document


def clean_value(attribute: Attribute, value: object, where: str) -> object:
    if value is None:
        return None
    if attribute.multi_valued:
        values = value if isinstance(value, list) else [value]
        if len(values) > MAX_VALUES and attribute.name != "members":
            raise invalid(f"{where}: at most {MAX_VALUES} values.")
        items = [_clean_single(attribute, v, where) for v in values]
        items = [i for i in items if i not in (None, {}, "")]
        return items or None
    return _clean_single(attribute, value, where)


def _clean_single(attribute: Attribute, value: object, where: str) -> object:
    if value is None:
        return None
    if attribute.type == "complex":
        return _clean_complex(attribute.sub, value, where) or None
    if attribute.type == "boolean":
        return _boolean(value, where)
    if not isinstance(value, str):
        raise invalid(f"{where} must be a string.")
    problem = plain_text.problem(value)
    if problem:
        raise invalid(f"{where}: {problem}")
    limit = 500 if attribute.type == "reference" else attribute.max_length
    if len(value) > limit:
        raise invalid(f"{where}: at most {limit} characters.")
    return value if value.strip() else None


def _boolean(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    # Entra ID sends booleans in PATCH values as the strings "True" / "False".
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise invalid(f"{where} must be true or false.")


def _clean_complex(attributes: tuple[Attribute, ...], value: object, where: str) -> dict:
    if not isinstance(value, dict):
        raise invalid(f"{where} must be an object.")
    cleaned: dict = {}
    for key, sub_value in value.items():
        attribute = find(attributes, key)
        if attribute is None or attribute.mutability == "readOnly":
            continue
        sub = clean_value(attribute, sub_value, f"{where}.{attribute.name}")
        if sub is not None:
            cleaned[attribute.name] = sub
    return cleaned


# -- PATCH ------------------------------------------------------------------------------------------------

def patch_operations(payload: object) -> list[dict]:
    """The operations of a PatchOp body, checked for shape (RFC 7644 section 3.5.2)."""
    if not isinstance(payload, dict):
        raise invalid("The body must be a JSON object.", "invalidSyntax")
    schemas = payload.get("schemas")
    if not isinstance(schemas, list) or PATCH_OP not in schemas:
        raise invalid(f"A PATCH body names the schema {PATCH_OP}.", "invalidSyntax")
    operations = next((v for k, v in payload.items() if k.lower() == "operations"), None)
    if not isinstance(operations, list) or not operations:
        raise invalid("A PATCH body holds a non-empty list of Operations.", "invalidSyntax")
    if len(operations) > MAX_OPERATIONS:
        raise invalid(f"At most {MAX_OPERATIONS} operations in one PATCH.", "tooMany")
    checked = []
    for operation in operations:
        if not isinstance(operation, dict):
            raise invalid("Each operation is a JSON object.", "invalidSyntax")
        lowered = {k.lower(): v for k, v in operation.items()}
        op = lowered.get("op")
        if not isinstance(op, str) or op.lower() not in ("add", "replace", "remove"):
            raise invalid("Each operation's op is add, replace or remove.", "invalidSyntax")
        path = lowered.get("path")
        if path is not None and (not isinstance(path, str) or not path.strip() or len(path) > MAX_PATH):
            raise invalid("An operation's path is a non-empty string.", "invalidPath")
        if op.lower() == "remove" and path is None:
            raise invalid("A remove operation needs a path.", "noTarget")
        if op.lower() != "remove" and "value" not in lowered:
            raise invalid(f"An {op.lower()} operation needs a value.", "invalidValue")
        checked.append({"op": op.lower(), "path": path.strip() if path else None,
                        "value": lowered.get("value")})
    return checked


def apply_operation(shape: Shape, document: dict, operation: dict) -> None:
    """Apply one checked operation to `document` (in place). Values are checked afterwards, with the
    whole document (`clean_document`)."""
    op, path, value = operation["op"], operation["path"], operation["value"]
    if path is None:
        if not isinstance(value, dict):
            raise invalid("Without a path, the value is an object of attributes.", "invalidValue")
        for key, item in value.items():
            if not isinstance(key, str) or len(key) > MAX_PATH:
                raise invalid("Attribute names are strings.", "invalidPath")
            target = _target(shape, key, lenient=True)
            if target is not None:
                _apply(document, target, op, item)
        return
    target = _target(shape, path)
    if target is not None:
        _apply(document, target, op, value)


class _Target:
    """Where a path points: the container's key (canonical) in the document, the attribute, an optional
    value filter for multi-valued attributes, an optional sub-attribute."""

    def __init__(self, container: str | None, attribute: Attribute | None, value_filter=None,
                 sub: Attribute | None = None, extension: Schema | None = None) -> None:
        self.container, self.attribute, self.filter, self.sub = container, attribute, value_filter, sub
        self.extension = extension


def _target(shape: Shape, path: str, lenient: bool = False) -> _Target | None:
    """Resolve a PATCH path; None for an attribute Laurel does not keep (ignored, like in a POST)."""
    extension = shape.extension(path) if path.lower().startswith("urn:") else None
    if extension is not None:
        return _Target(None, None, extension=extension)
    value_filter, sub_name = None, None
    head = path
    if "[" in path:
        opening, closing = path.index("["), path.rfind("]")
        if closing < opening:
            raise invalid(f"{path[:80]!r} is not a valid path.", "invalidPath")
        head, tail = path[:opening], path[closing + 1:]
        try:
            value_filter = scim_filters.parse(path[opening + 1:closing])
        except scim_filters.FilterError as exc:
            raise invalid(str(exc), "invalidPath") from None
        if tail:
            if not tail.startswith("."):
                raise invalid(f"{path[:80]!r} is not a valid path.", "invalidPath")
            sub_name = tail[1:]
    try:
        parsed = scim_filters.parse_path(head)
    except scim_filters.FilterError as exc:
        raise invalid(str(exc), "invalidPath") from None
    if parsed.sub is not None:
        if sub_name is not None:
            raise invalid(f"{path[:80]!r} is not a valid path.", "invalidPath")
        sub_name = parsed.sub
    attributes, container_ext = _attributes_for(shape, parsed.schema)
    if attributes is None:
        return None
    if container_ext is None and parsed.name.lower() in ("id", "meta", "schemas"):
        if lenient:
            return None  # Okta sends the id back in a path-less replace
        raise invalid(f"{parsed.name} is read-only.", "mutability")
    attribute = find(attributes, parsed.name)
    if attribute is None:
        return None
    if attribute.mutability == "readOnly":
        if lenient:
            return None
        raise invalid(f"{attribute.name} is read-only.", "mutability")
    if value_filter is not None and not attribute.multi_valued:
        raise invalid(f"{attribute.name} has only one value: no filter.", "invalidFilter")
    sub = None
    if sub_name is not None:
        sub = attribute.child(sub_name)
        if sub is None:
            return None
    return _Target(container_ext.id if container_ext else None, attribute, value_filter, sub)


def _attributes_for(shape: Shape, schema: str | None) -> tuple[tuple[Attribute, ...] | None, Schema | None]:
    if schema is None or schema.lower() == shape.core.id.lower():
        return shape.attributes, None
    extension = shape.extension(schema)
    if extension is not None:
        return extension.attributes, extension
    if schema.lower().startswith(CORE.lower()):
        raise invalid(f"{schema[:80]!r} is not this resource's schema.", "invalidPath")
    return None, None


def _apply(document: dict, target: _Target, op: str, value: object) -> None:
    if target.extension is not None:  # the whole extension object
        key = target.extension.id
        if op == "remove":
            document.pop(key, None)
        elif not isinstance(value, dict):
            raise invalid(f"{key} takes an object.", "invalidValue")
        else:
            merged = dict(document.get(key) or {})
            merged.update({k: v for k, v in value.items() if isinstance(k, str)})
            document[key] = merged
        return
    holder = document if target.container is None else document.setdefault(target.container, {})
    if not isinstance(holder, dict):
        holder = document[target.container] = {}
    attribute = target.attribute
    name = attribute.name
    if attribute.multi_valued:
        _apply_multi(holder, attribute, target, op, value)
    elif target.sub is not None:
        current = holder.get(name)
        current = dict(current) if isinstance(current, dict) else {}
        if op == "remove":
            current.pop(target.sub.name, None)
        else:
            current[target.sub.name] = value
        holder[name] = current or None
    elif op == "remove":
        if attribute.required:
            raise invalid(f"{name} is required and cannot be removed.", "invalidValue")
        holder.pop(name, None)
    elif attribute.type == "complex" and isinstance(value, dict) and isinstance(holder.get(name), dict):
        holder[name] = {**holder[name], **value}  # sub-attributes not given stay (section 3.5.2.1/3)
    else:
        holder[name] = value
    if target.container is not None and not holder:
        document.pop(target.container, None)


def _apply_multi(holder: dict, attribute: Attribute, target: _Target, op: str, value: object) -> None:
    name = attribute.name
    current = [dict(v) for v in holder.get(name) or [] if isinstance(v, dict)]
    if target.filter is None and target.sub is None:
        if op == "remove":
            if value is None:
                holder.pop(name, None)
                return
            # Entra ID removes members with a value list instead of a filter.
            gone = _values_of(value)
            holder[name] = [v for v in current if _key(v) not in gone]
            return
        given = value if isinstance(value, list) else [value]
        values = [dict(v) if isinstance(v, dict) else v for v in given]
        if op == "replace":
            holder[name] = values
        else:
            seen = {_key(v) for v in current}
            holder[name] = current + [v for v in values if not (isinstance(v, dict) and _key(v) in seen)]
        return
    if target.filter is None:  # emails.value: every value's sub-attribute
        matched = current
    else:
        try:
            matched = [v for v in current if scim_filters.matches(target.filter, v)]
        except scim_filters.FilterError as exc:
            raise invalid(str(exc), "invalidFilter") from None
    if op == "remove":
        if target.sub is None:
            holder[name] = [v for v in current if v not in matched]
        else:
            for item in matched:
                item.pop(target.sub.name, None)
            holder[name] = current
        return
    if not matched:
        # `emails[type eq "work"].value` with no work address yet: Entra ID means "add one".
        item = _item_from_filter(target.filter) if target.filter is not None else None
        if item is None:
            raise invalid(f"No value of {name} matches the path.", "noTarget")
        current.append(item)
        matched = [item]
    for item in matched:
        if target.sub is not None:
            item[target.sub.name] = value
        elif isinstance(value, dict):
            item.update(value)
        else:
            raise invalid(f"{name} values are objects.", "invalidValue")
    holder[name] = current


def _item_from_filter(node) -> dict | None:
    """The value a filter of `sub eq "constant"` clauses (joined by and) describes, else None."""
    if isinstance(node, scim_filters.Compare) and node.op == "eq" and node.path.sub is None:
        return {node.path.name: node.value}
    if isinstance(node, scim_filters.Logical) and node.op == "and":
        left, right = _item_from_filter(node.left), _item_from_filter(node.right)
        if left is not None and right is not None:
            return {**left, **right}
    return None


def _key(value: object) -> object:
    if isinstance(value, dict):
        found = next((v for k, v in value.items() if k.lower() == "value"), None)
        return found.lower() if isinstance(found, str) else found
    return value


def _values_of(value: object) -> set:
    values = value if isinstance(value, list) else [value]
    return {_key(v) for v in values}


def copy_document(document: dict) -> dict:
    return copy.deepcopy(document)


# -- answers ----------------------------------------------------------------------------------------------

ALWAYS = ("id", "schemas")


def parse_attribute_list(raw: str | None) -> list[str]:
    if raw is None or not raw.strip():
        return []
    if len(raw) > MAX_PATH * 4:
        raise invalid("The attribute list is too long.")
    names = [n.strip() for n in raw.split(",") if n.strip()]
    for name in names:
        try:
            scim_filters.parse_path(name)
        except scim_filters.FilterError:
            raise invalid(f"{name[:80]!r} is not an attribute name.", "invalidPath") from None
    return names


def project(resource: dict, core: str, attributes: list[str], excluded: list[str]) -> dict:
    """`resource` cut to `attributes` (id and schemas always stay), or without `excluded`."""
    if attributes:
        kept = {k: resource[k] for k in ALWAYS if k in resource}
        for name in attributes:
            _copy_path(resource, kept, core, name)
        return kept
    if excluded:
        trimmed = copy.deepcopy(resource)
        for name in excluded:
            _drop_path(trimmed, core, name)
        return trimmed
    return resource


def _split(core: str, name: str) -> tuple[str | None, str, str | None]:
    parsed = scim_filters.parse_path(name)
    schema = parsed.schema
    if schema is not None and schema.lower() == core.lower():
        schema = None
    return schema, parsed.name, parsed.sub


def _lookup(mapping: dict, name: str) -> str | None:
    return next((k for k in mapping if k.lower() == name.lower()), None)


def _container(resource: dict, schema: str | None) -> tuple[dict | None, str | None]:
    if schema is None:
        return resource, None
    key = _lookup(resource, schema)
    return (resource.get(key) if key else None), key


def _copy_path(resource: dict, kept: dict, core: str, name: str) -> None:
    if name.lower().startswith("urn:") and _lookup(resource, name):  # a whole extension
        key = _lookup(resource, name)
        kept[key] = resource[key]
        return
    schema, attr, sub = _split(core, name)
    source, container_key = _container(resource, schema)
    if not isinstance(source, dict):
        return
    key = _lookup(source, attr)
    if key is None or key in ALWAYS:
        return
    target = kept if container_key is None else kept.setdefault(container_key, {})
    value = source[key]
    if sub is None:
        target[key] = value
    elif isinstance(value, dict):
        sub_key = _lookup(value, sub)
        if sub_key:
            target.setdefault(key, {})[sub_key] = value[sub_key]
    elif isinstance(value, list):
        target[key] = [{k: v for k, v in item.items() if k.lower() == sub.lower()}
                       for item in value if isinstance(item, dict)]


def _drop_path(resource: dict, core: str, name: str) -> None:
    if name.lower().startswith("urn:") and _lookup(resource, name):
        resource.pop(_lookup(resource, name), None)
        return
    schema, attr, sub = _split(core, name)
    source, _ = _container(resource, schema)
    if not isinstance(source, dict):
        return
    key = _lookup(source, attr)
    if key is None or key in ALWAYS:
        return
    if sub is None:
        source.pop(key)
    elif isinstance(source[key], dict):
        source[key].pop(_lookup(source[key], sub) or "", None)
    elif isinstance(source[key], list):
        for item in source[key]:
            if isinstance(item, dict):
                item.pop(_lookup(item, sub) or "", None)
