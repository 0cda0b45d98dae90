#!/usr/bin/env python3
"""Merge benchmark variants into one Envoy configuration, one listener each.

    one_envoy.py OUT ADMIN_PORT NAME=CONFIG[=WASM] ...

Every variant's API listener (the first listener of its config under
envoy/bench/) gets port ADMIN_PORT + 10 + i, in argument order, and its
Wasm VM the id NAME (WASM, if given, replaces the filter's code); one
direct-response upstream (ADMIN_PORT + 1) serves them all. With
`--concurrency 1` every variant then runs on the same worker thread of the
same process, so that what the machine does to one it does to all: the
hot-path comparison (bench/run.sh, section hot) alternates between them.
"""
import copy
import sys

import yaml


def socket(listener_or_endpoint):
    return listener_or_endpoint["address"]["socket_address"]


def main(out, admin_port, specs):
    admin_port = int(admin_port)
    variants = [spec.split("=", 2) for spec in specs]
    merged = yaml.safe_load(open(variants[0][1]))
    socket(merged["admin"])["port_value"] = admin_port
    resources = merged["static_resources"]
    upstream = copy.deepcopy(resources["listeners"][1])
    socket(upstream)["port_value"] = admin_port + 1
    (cluster,) = resources["clusters"]
    (endpoint,) = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
    socket(endpoint["endpoint"])["port_value"] = admin_port + 1
    listeners = [upstream]
    for i, (name, config, *wasm) in enumerate(variants):
        api = copy.deepcopy(yaml.safe_load(open(config))["static_resources"]["listeners"][0])
        api["name"] = name
        socket(api)["port_value"] = admin_port + 10 + i
        manager = api["filter_chains"][0]["filters"][0]["typed_config"]
        for http_filter in manager.get("http_filters", []):
            wasm_config = http_filter.get("typed_config", {}).get("config")
            if wasm_config:
                wasm_config["vm_config"]["vm_id"] = name
                if wasm:
                    wasm_config["vm_config"]["code"]["local"]["filename"] = wasm[0]
        listeners.append(api)
    resources["listeners"] = listeners
    yaml.safe_dump(merged, open(out, "w"))


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
