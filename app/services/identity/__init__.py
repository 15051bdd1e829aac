"""Identity: single sign-on (OIDC, SAML), SCIM and the provisioning rules they share.

Sits between lifecycle and accounts in the import contract: it may use accounts (users, departments),
messaging, organisation and the shared modules; nothing below it imports it.
"""
