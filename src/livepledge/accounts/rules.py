"""Pure account rules."""

from __future__ import annotations

import re

from zxcvbn import zxcvbn

LOGIN_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
ROLES = frozenset({"buyer", "merchant", "anchor"})
SHOP_ROLES = frozenset({"owner", "staff", "anchor"})
MANAGE_ROLES = frozenset({"owner", "staff"})
MIN_PASSWORD = 8
MAX_PASSWORD = 128
# zxcvbn's score (0-4) a new password needs: 3 is "safely unguessable" (about 10^8 guesses or
# more). Its cost grows steeply with length (350 ms of CPU at 128 characters), so only the first
# STRENGTH_PREFIX characters are estimated: a password whose first 48 characters are strong is
# strong.
MIN_PASSWORD_SCORE = 3
STRENGTH_PREFIX = 48
# Common Chinese passwords and their parts, which zxcvbn's English lists do not know.
COMMON_CHINESE = ("woaini", "520", "1314", "5201314", "woaini1314", "aini", "iloveyou", "qq",
                  "taobao", "weixin", "wechat", "douyin", "zhibo", "mima", "admin", "123456")


def login_error(login: str) -> str | None:
    if not LOGIN_PATTERN.match(login):
        return "用户名须为 3–32 位字母、数字、_ . - / login must be 3-32 letters, digits, _ . -"
    return None


def password_error(password: str, *, login: str = "", display_name: str = "") -> str | None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return f"密码长度须为 {MIN_PASSWORD}–{MAX_PASSWORD} 位 / password must be " \
               f"{MIN_PASSWORD}-{MAX_PASSWORD} characters"
    if login and password.casefold() == login.casefold():
        return "密码不能与用户名相同 / the password must not be the login"
    inputs = [value for value in (login, display_name) if value] + list(COMMON_CHINESE)
    result = zxcvbn(password[:STRENGTH_PREFIX], user_inputs=inputs)
    if result["score"] >= MIN_PASSWORD_SCORE:
        return None
    warning = result["feedback"].get("warning") or "it is easy to guess"
    return ("密码太容易被猜到，请换一个更长、不常见的密码（可用几个不相关的词组合）"
            f" / password too easy to guess: {warning.rstrip('.')}."
            " Use a longer, uncommon one, such as a few unrelated words")
