#!/usr/bin/env bash
# Provision a Debian 12 / Ubuntu 24.04 machine for tlslab: system packages, then a venv.
# Idempotent: a second run installs nothing new. Used by the README, .ci/run and the Vagrantfile.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${TLSLAB_VENV:-$here/.venv}

if [ "$(id -u)" -ne 0 ]; then
  echo "provision.sh: run as root (network namespaces need it)" >&2
  exit 2
fi

# System packages. Debian's mininet brings mnexec; openvswitch is only recommended and not needed.
packages=(mininet bridge-utils net-tools iproute2 ethtool tcpdump tshark openssl gnutls-bin
          iputils-ping util-linux python3-venv nftables iptables iperf3 procps)
# Debian's chromium renders report.html in the tests; Ubuntu's is a snap stub
# that cannot run here, so there the browser test skips.
. /etc/os-release
if [ "${ID:-}" = debian ]; then packages+=(chromium); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer once, non-interactively.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The venv uses the system python3 so python3-venv is always there.
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv "$venv"
fi
stamp="$venv/.tlslab-installed"
if [ ! -f "$stamp" ] || [ "$here/pyproject.toml" -nt "$stamp" ]; then
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -e "$here[test]"
  touch "$stamp"
fi
