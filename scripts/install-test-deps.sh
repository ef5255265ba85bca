#!/usr/bin/env bash
# Installs what the test suite needs that Go modules cannot provide:
#   - eapol_test built from Debian's `wpa` source package WITH the USIM simulator
#     (Debian's own eapoltest package has no USIM simulator, so it cannot do
#     EAP-AKA/AKA' with a K:OPc:SQN password; see configs/eapol_test/README.md);
#   - redis-server and redis-cli (redis-tools) from Debian;
#   - freeDiameterd (Debian's freediameterd) and its acl_wl.fdx extension
#     (freediameter-extensions) as the Diameter relay of internal/fdtest;
#   - tshark and dumpcap (Debian's tshark and wireshark-common) for
#     internal/capture, which captures the Diameter of a test on loopback and
#     has Wireshark's dissector check every message.
#
# The eapol_test binary is cached at
#   ${AAA_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aaa-test}/bin/eapol_test
# and nothing is downloaded or built when the cached binary exists and runs.
# Idempotent, quiet unless it fails; prints the path of eapol_test at the end.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

if [[ -z "${HOME:-}" ]]; then
	HOME="$(getent passwd "$(id -u)" | cut -d: -f6)"
	export HOME
fi
CACHE_DIR="${AAA_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aaa-test}"
BIN_DIR="$CACHE_DIR/bin"
EAPOL_TEST="$BIN_DIR/eapol_test"

LOG="$(mktemp -t aaa-test-deps.XXXXXX.log)"
WORK=""
cleanup() {
	local rc=$?
	if [[ $rc -ne 0 ]]; then
		echo "install-test-deps: FAILED (exit $rc); last lines of $LOG:" >&2
		tail -n 60 "$LOG" >&2 || true
	else
		rm -f "$LOG"
	fi
	if [[ -n "$WORK" ]]; then
		rm -rf "$WORK"
	fi
	exit $rc
}
trap cleanup EXIT

die() {
	echo "install-test-deps: $*" >&2
	exit 1
}

# Run a command with its output going to the log only.
q() {
	echo "+ $*" >>"$LOG"
	"$@" >>"$LOG" 2>&1
}

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo -n env DEBIAN_FRONTEND=noninteractive)
	else
		die "not root and sudo is not available: cannot install Debian packages"
	fi
fi

APT_UPDATED=0
apt_update() {
	if [[ $APT_UPDATED -eq 0 ]]; then
		q "${SUDO[@]}" apt-get update -q || die "apt-get update failed"
		APT_UPDATED=1
	fi
}

# Installs those of the named Debian packages that are not installed yet.
apt_install() {
	local missing=() p
	for p in "$@"; do
		if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]]; then
			missing+=("$p")
		fi
	done
	[[ ${#missing[@]} -gt 0 ]] || return 0
	apt_update
	q "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" ||
		die "apt-get install ${missing[*]} failed"
}

# eapol_test -h exits non-zero (invalid option) but prints its usage: judge it
# by that text, and require the USIM simulator (Debian's eapoltest lacks it).
eapol_test_works() {
	[[ -x "$1" ]] || return 1
	local out
	out="$("$1" -h 2>&1 || true)"
	grep -q '^usage:' <<<"$out" && grep -q '^eapol_test \[' <<<"$out" &&
		grep -qa 'Use internal Milenage implementation' "$1"
}

# Adds a deb-src twin of the Debian sources (deb822 or one-line format).
enable_deb_src() {
	local src_dir=/etc/apt/sources.list.d
	if grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list "$src_dir"/*.sources "$src_dir"/*.list 2>/dev/null; then
		return 0
	fi
	if [[ -f "$src_dir/debian.sources" ]]; then
		sed -E 's/^Types:.*/Types: deb-src/' "$src_dir/debian.sources" |
			"${SUDO[@]}" tee "$src_dir/debian-src.sources" >/dev/null
	elif [[ -f /etc/apt/sources.list ]] && grep -qE '^deb ' /etc/apt/sources.list; then
		sed -nE 's/^deb (.*)/deb-src \1/p' /etc/apt/sources.list |
			"${SUDO[@]}" tee "$src_dir/debian-src.list" >/dev/null
	else
		die "cannot find the Debian apt sources to derive a deb-src entry from"
	fi
	APT_UPDATED=0 # the new source index must be fetched
}

build_eapol_test() {
	enable_deb_src
	apt_install dpkg-dev libssl-dev pkg-config build-essential
	# (no `| grep -q` under pipefail: apt-cache would die of SIGPIPE)
	if ! grep -q '^Package: wpa$' <<<"$(apt-cache showsrc wpa 2>/dev/null || true)"; then
		APT_UPDATED=0 # source index missing or stale
		apt_update
	fi

	WORK="$(mktemp -d -t aaa-eapol-test.XXXXXX)"
	(
		cd "$WORK"
		q apt-get source -q wpa || die "apt-get source wpa failed"
		local dir
		dir="$(find . -maxdepth 1 -type d -name 'wpa-*' | head -n 1)"
		[[ -n "$dir" ]] || die "apt-get source wpa produced no wpa-* directory"
		cd "$dir/wpa_supplicant"
		cat >.config <<-'EOF'
			CONFIG_DRIVER_NONE=y
			CONFIG_IEEE8021X_EAPOL=y
			CONFIG_EAP_AKA=y
			CONFIG_EAP_AKA_PRIME=y
			CONFIG_USIM_SIMULATOR=y
			CONFIG_TLS=openssl
		EOF
		q make -j"$(nproc 2>/dev/null || echo 2)" eapol_test || die "make eapol_test failed"
		[[ -x eapol_test ]] || die "make eapol_test produced no binary"
		mkdir -p "$BIN_DIR"
		# Atomic install: a concurrent run never sees a half-written binary.
		cp eapol_test "$BIN_DIR/.eapol_test.$$"
		mv -f "$BIN_DIR/.eapol_test.$$" "$EAPOL_TEST"
	)
	rm -rf "$WORK"
	WORK=""
}

if ! eapol_test_works "$EAPOL_TEST"; then
	build_eapol_test
	eapol_test_works "$EAPOL_TEST" || die "built $EAPOL_TEST but it does not run (eapol_test -h printed no usage)"
fi

# redis-server for the Redis store's tests; redis-cli (Debian's redis-tools,
# which redis-server depends on) joins the nodes of the Redis Cluster tests
# (redis-cli --cluster create, Redis 5 or later).
redis_pkgs=()
command -v redis-server >/dev/null 2>&1 || redis_pkgs+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || redis_pkgs+=(redis-tools)
if [[ ${#redis_pkgs[@]} -gt 0 ]]; then
	apt_install "${redis_pkgs[@]}"
	command -v redis-server >/dev/null 2>&1 || die "redis-server installed but not on PATH"
	command -v redis-cli >/dev/null 2>&1 || die "redis-tools installed but redis-cli not on PATH"
fi

# freeDiameterd (Debian's freediameterd) and its extensions (Debian's
# freediameter-extensions, which has the acl_wl.fdx that admits peers) for the
# Diameter tests: internal/fdtest runs it as a relay between go-diameter peers.
FD_EXT_DIR=/usr/lib/freeDiameter
fd_pkgs=()
command -v freeDiameterd >/dev/null 2>&1 || fd_pkgs+=(freediameterd)
[[ -f "$FD_EXT_DIR/acl_wl.fdx" ]] || fd_pkgs+=(freediameter-extensions)
if [[ ${#fd_pkgs[@]} -gt 0 ]]; then
	apt_install "${fd_pkgs[@]}"
	command -v freeDiameterd >/dev/null 2>&1 || die "freediameterd installed but freeDiameterd not on PATH"
	[[ -f "$FD_EXT_DIR/acl_wl.fdx" ]] || die "freediameter-extensions installed but $FD_EXT_DIR/acl_wl.fdx is missing"
fi

# tshark (Debian's tshark) and dumpcap (wireshark-common, which tshark depends
# on) for internal/capture: a test captures its Diameter on loopback with
# dumpcap and has tshark decode every message. wireshark-common asks whether
# non-root users may capture (a setuid dumpcap): answered "no" beforehand, so
# that the install never stops at a prompt; the tests run dumpcap as root or
# with CAP_NET_RAW.
ws_pkgs=()
command -v tshark >/dev/null 2>&1 || ws_pkgs+=(tshark)
command -v dumpcap >/dev/null 2>&1 || ws_pkgs+=(wireshark-common)
if [[ ${#ws_pkgs[@]} -gt 0 ]]; then
	command -v debconf-set-selections >/dev/null 2>&1 ||
		die "debconf-set-selections (Debian's debconf) not found: cannot preseed wireshark-common"
	q "${SUDO[@]}" debconf-set-selections <<<"wireshark-common wireshark-common/install-setuid boolean false" ||
		die "debconf-set-selections for wireshark-common failed"
	apt_install "${ws_pkgs[@]}"
	command -v tshark >/dev/null 2>&1 || die "tshark installed but not on PATH"
	command -v dumpcap >/dev/null 2>&1 || die "wireshark-common installed but dumpcap not on PATH"
fi

echo "$EAPOL_TEST"
