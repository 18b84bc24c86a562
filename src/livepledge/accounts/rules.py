"""Pure account rules."""

from __future__ import annotations

import re

LOGIN_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
ROLES = frozenset({"buyer", "merchant", "anchor"})
SHOP_ROLES = frozenset({"owner", "staff", "anchor"})
MANAGE_ROLES = frozenset({"owner", "staff"})
MIN_PASSWORD = 8
MAX_PASSWORD = 128


def login_error(login: str) -> str | None:
    if not LOGIN_PATTERN.match(login):
        return "用户名须为 3–32 位字母、数字、_ . - / login must be 3-32 letters, digits, _ . -"
    return None


def password_error(password: str) -> str | None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return f"密码长度须为 {MIN_PASSWORD}–{MAX_PASSWORD} 位 / password must be " \
               f"{MIN_PASSWORD}-{MAX_PASSWORD} characters"
    return None
