"""Pure account rules."""

from __future__ import annotations

import re

from zxcvbn import zxcvbn

LOGIN_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
ROLES = frozenset({"buyer", "merchant", "anchor", "agency"})  # what registration may choose
# The platform's operators (平台客服/仲裁): decide escalated after-sales cases. Never chosen at
# registration: made by `livepledge operator add` on the server (docs/aftersales.md).
OPERATOR = "operator"
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


# --- shipping addresses ------------------------------------------------------------------------

# The provincial-level divisions (GB/T 2260), as an address names them.
PROVINCES = (
    "北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省", "黑龙江省",
    "上海市", "江苏省", "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省",
    "湖南省", "广东省", "广西壮族自治区", "海南省", "重庆市", "四川省", "贵州省", "云南省",
    "西藏自治区", "陕西省", "甘肃省", "青海省", "宁夏回族自治区", "新疆维吾尔自治区",
    "香港特别行政区", "澳门特别行政区", "台湾省",
)
MAX_ADDRESSES = 20
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
LANDLINE = re.compile(r"^0[0-9]{2,3}-?[0-9]{7,8}$")
ADDRESS_LIMITS = {"recipient": (1, 20), "city": (1, 40), "district": (1, 40), "detail": (4, 120)}
ADDRESS_LABELS = {"recipient": "收货人 / recipient", "city": "城市 / city",
                  "district": "区县 / district", "detail": "详细地址 / street address",
                  "phone": "手机号 / phone", "province": "省份 / province"}


def normalize_phone(phone: str) -> str:
    """`+86 138-0013-8000` -> `13800138000`; landlines keep their area code's hyphen."""
    digits = re.sub(r"[\s()]", "", phone)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    compact = digits.replace("-", "")
    return compact if MOBILE.match(compact) else digits


def address_errors(fields: dict[str, str]) -> list[dict[str, str]]:
    """Every field that is wrong, with what is wrong (the form shows each beside its field)."""
    errors = []
    for name, (low, high) in ADDRESS_LIMITS.items():
        if not low <= len(fields.get(name, "").strip()) <= high:
            errors.append({"field": name, "message": f"{ADDRESS_LABELS[name]}须为 {low}–{high} "
                                                     f"个字符 / must be {low}-{high} characters"})
    if fields.get("province", "") not in PROVINCES:
        errors.append({"field": "province", "message": "请选择省份 / choose a province"})
    phone = normalize_phone(fields.get("phone", ""))
    if not (MOBILE.match(phone) or LANDLINE.match(phone)):
        errors.append({"field": "phone", "message": "手机号须为 11 位中国大陆手机号或带区号的固话 "
                                                    "/ a mainland mobile (11 digits) or a "
                                                    "landline with its area code"})
    return errors


def mask_phone(phone: str) -> str:
    """What staff see (the packing slip shows the whole number): 138****8000."""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
