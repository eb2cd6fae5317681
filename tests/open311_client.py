"""Drives linli's Open311 endpoint with the `georeport` client from PyPI (which linli did not
write): services and a service definition in JSON and XML, then a request posted with the
integration key (georeport only reads, so the POST uses `requests`, its own dependency) and
read back through georeport in both formats.

Usage: python3 tests/open311_client.py BASE_URL API_KEY ADDRESS_ID
"""
import sys

import requests
from georeport import GeoReport

base, key, address_id = sys.argv[1], sys.argv[2], sys.argv[3]

for fmt in ("json", "xml"):
    client = GeoReport(base, api_key=key, output_format=fmt)
    services = client.get_service_list()
    if isinstance(services, dict):
        services = [services]
    codes = [s["service_code"] for s in services]
    assert "illegal_parking" in codes, codes
    assert "elderly_care" not in codes, codes
    definition = client.get_service_definition("elevator")
    attrs = definition["attributes"]
    if fmt == "xml":
        attrs = attrs["attribute"]
    assert any(a["code"] == "trapped" for a in attrs), attrs

r = requests.post(
    base.rstrip("/") + "/requests.json",
    data={
        "api_key": key,
        "service_code": "illegal_parking",
        "address_id": address_id,
        "description": "georeport client: car on the fire lane",
        "attribute[plate]": "沪A·00001",
    },
)
assert r.status_code == 201, (r.status_code, r.text)
rid = r.json()[0]["service_request_id"]
r = requests.post(base.rstrip("/") + "/requests.json", data={"service_code": "noise"})
assert r.status_code == 403 and r.json()[0]["code"] == 403, r.text

for fmt in ("json", "xml"):
    client = GeoReport(base, output_format=fmt)
    one = client.get_service_request(rid)
    assert one["service_request_id"] == rid, one
    assert one["status"] == "open", one
    assert one["service_code"] == "illegal_parking", one
    assert one["expected_datetime"], one
    many = client.get_service_requests(service_code="illegal_parking", status="open")
    if isinstance(many, dict):
        many = [many]
    assert any(m["service_request_id"] == rid for m in many), many
print("georeport client: ok")
