"""Parses OpenMetrics text from stdin with the parser of the Prometheus
Python client (PyPI `prometheus-client`), which rejects anything that
breaks the format, and prints every sample as a JSON line:
{"name": ..., "labels": {...}, "value": ...}. Exits 1 with the parser's
error on invalid input.

    curl -s http://127.0.0.1:9187/metrics | python3 openmetrics.py
"""

import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def main():
    text = sys.stdin.read()
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as error:  # the parser raises ValueError and others
        print(f"invalid OpenMetrics: {error}", file=sys.stderr)
        sys.exit(1)
    for family in families:
        for sample in family.samples:
            print(json.dumps({
                "family": family.name,
                "type": family.type,
                "name": sample.name,
                "labels": sample.labels,
                "value": sample.value,
            }))


if __name__ == "__main__":
    main()
