#!/usr/bin/env bash
# usage: scripts/ci/promtool.sh
# Checks the alerts with Prometheus's own tool: `promtool check rules` on the plain rules file
# (deploy/prometheus/rules.yaml) and on the groups of the PrometheusRule
# (deploy/kubernetes/monitoring/prometheus-rule.yaml, extracted to a temp file), then
# `promtool test rules` on the unit tests (deploy/prometheus/rules.test.yaml) against each.
# Installs Debian's prometheus package when promtool is missing (about 15 s); the package's
# service is never started (policy-rc.d), and nothing is written inside the checkout.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then echo "promtool.sh: no promtool, and not root to install Debian's prometheus package" >&2; exit 1; fi
  echo "promtool.sh: installing promtool (Debian's prometheus package)"
  # the package's postinst starts the prometheus service: forbid starting services while it
  # installs, unless a policy-rc.d already says so (containers usually have one)
  added_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    added_policy=1
  fi
  trap '[ -z "$added_policy" ] || rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  [ -z "$added_policy" ] || rm -f /usr/sbin/policy-rc.d
  trap - EXIT
  # on a machine booted with systemd the unit may still have been started: stop it (this
  # script only needs the tool)
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then systemctl stop prometheus; fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the PrometheusRule's spec is a rules file; the unit tests run against it too, beside a copy
./node_modules/.bin/node --input-type=module -e "
  import { readFileSync, writeFileSync } from 'node:fs'
  import { parse, stringify } from 'yaml'
  const rule = parse(readFileSync('deploy/kubernetes/monitoring/prometheus-rule.yaml', 'utf8'))
  if (rule?.kind !== 'PrometheusRule') throw new Error('deploy/kubernetes/monitoring/prometheus-rule.yaml: not a PrometheusRule')
  writeFileSync('$tmp/rules.yaml', stringify(rule.spec))
"
cp deploy/prometheus/rules.test.yaml "$tmp/rules.test.yaml"

promtool check rules deploy/prometheus/rules.yaml "$tmp/rules.yaml"
promtool test rules deploy/prometheus/rules.test.yaml "$tmp/rules.test.yaml"
