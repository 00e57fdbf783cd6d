"""Calls a published third-party UEM client, pyws1uem 0.0.10 (PyPI), against the simulator.

Usage: python pyws1uem_check.py HOST:PORT USERNAME PASSWORD TENANT_CODE

The simulator's fixture tenant (tests/support/fixture.rs) must be loaded. pyws1uem only speaks
https; the one change made to it here is the scheme of the URLs it builds.
Exits non-zero with the failed check on stderr.
"""

import logging
import sys

from pyws1uem.client import WorkspaceOneAPI
from pyws1uem.error import WorkspaceOneAPIError

_build = WorkspaceOneAPI._build_endpoint
WorkspaceOneAPI._build_endpoint = staticmethod(
    lambda base, module, path=None, version=None: _build(base, module, path, version).replace(
        "https://", "http://", 1
    )
)


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def main():
    host, user, password, code = sys.argv[1:5]
    logging.getLogger().setLevel(logging.WARNING)
    api = WorkspaceOneAPI(env=host, apikey=code, username=user, password=password)

    # Organization groups.
    found = api.groups.search(groupid="loadoutsim")
    check(found["LocationGroups"][0]["Name"] == "Loadout Sim", "groups.search(groupid=)")
    og = api.groups.get_id_from_groupid("loadoutsim")
    check(og == 570, "groups.get_id_from_groupid")
    check(api.groups.get_groupid_from_id(og) == "loadoutsim", "groups.get_groupid_from_id")
    check(len(api.groups.get_uuid_from_groupid(og)) == 36, "groups.get_uuid_from_groupid")
    customer = api.groups.create_customer_og("pycustomer", name="Py Customer")
    check(isinstance(customer, int), "groups.create_customer_og answers the new id")
    child = api.groups.create_child_og("loadoutsim", "pyteam")
    check(isinstance(child, int) and child != customer, "groups.create_child_og")

    # Enrollment users.
    users = api.users.search(username="alice")
    check([u["UserName"] for u in users["Users"]] == ["alice", "alice2"], "users.search is partial")
    check(api.users.search(username="nobody") == 204, "an empty search is a bare 204")
    uuid = users["Users"][0]["Uuid"]
    check(api.users.get_user_by_uuid(uuid)["userName"] == "alice", "users.get_user_by_uuid (v2)")
    created = api.users.create_user(
        userName="py.user", securityType="directory", emailAddress="py.user@example.com"
    )
    check(created["userName"] == "py.user", "users.create_user (v2)")
    check(api.users.delete_user_by_uuid(created["uuid"]) == 204, "users.delete_user_by_uuid")

    # Devices.
    device_id = api.devices.get_id_by_alt_id(serialnumber="A-IOS")
    details = api.devices.get_details_by_device_id(device_id)
    check(details["SerialNumber"] == "A-IOS", "devices.get_details_by_device_id")
    check(api.devices.searchv2(user="bob")["Total"] == 7, "devices.searchv2(user=)")
    page = api.devices.search_all(lgid=og, pagesize=3, page=1)
    check(page["Page"] == 1 and len(page["Devices"]) == 3, "devices.search_all paged")
    check(api.devices.search_all(user="nobody") == 204, "an empty device search is a bare 204")
    extensive = api.devices.extensive_search(organizationgroupid=og)
    check(extensive["Total"] == 11, "devices.extensive_search")
    check("ProductVersion" in api.info.get_environment_info(), "info.get_environment_info")

    # Errors come back as UEM's error object, which the client raises.
    try:
        api.devices.get_details_by_device_id(999999)
        check(False, "an unknown device raises")
    except WorkspaceOneAPIError as e:
        check(e.error_code and "not found" in e.error_msg, "an unknown device raises the error object")

    check(api.devices.send_commands_for_device_id("DeviceQuery", device_id) == 202, "a device command is accepted")

    # pyws1uem deletes under /api/MDM/.
    check(api.devices.delete_device_by_id(device_id) == 204, "devices.delete_device_by_id")
    try:
        api.devices.get_details_by_device_id(device_id)
        check(False, "a deleted device is gone")
    except WorkspaceOneAPIError:
        check(True, "a deleted device is gone")


if __name__ == "__main__":
    main()
