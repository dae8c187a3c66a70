"""Phone numbers, ID numbers and e-mail addresses in free text are masked; other numbers stay."""
import pytest

from mapapp.privacy import mask


@pytest.mark.parametrize("text, shown, hidden", [
    ("居民张先生 13812345678 反映", "138****5678", "13812345678"),
    ("call 138 1234 5678 now", "138****5678", "1234"),
    ("+86 139-8765-4321", "139****4321", "8765"),
    ("身份证 11010119900307123X 已登记", "11" + "*" * 14 + "3X", "19900307"),
    ("id 110101199003071234.", "11" + "*" * 14 + "34", "19900307"),
    ("座机 010-62751234", "010-****1234", "6275"),
    ("Soita +358 40 1234567", "+358 **** **67", "12345"),
    ("mail zhang.san@example.com please", "z***@example.com", "zhang.san"),
])
def test_personal_numbers_and_addresses_are_masked(text, shown, hidden):
    out = mask(text)
    assert shown in out and hidden not in out


@pytest.mark.parametrize("text", [
    "网格 910101001001002 内 3 辆车乱停", "2026-11-23 14:05 路灯不亮", "编号 A1381234567890",
    "count 12345", "lon 24.9412345 lat 60.1712345", "",
])
def test_other_numbers_and_codes_are_left_alone(text):
    assert mask(text) == text


def test_nothing_to_mask():
    assert mask(None) is None
