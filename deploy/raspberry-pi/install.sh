#!/usr/bin/env bash
# Hallway Kiosk on a Raspberry Pi: from a fresh Raspberry Pi OS (Bookworm or Trixie, 64-bit,
# desktop or Lite) to a screen that boots into the slideshow and a share staff drop stories on.
# Idempotent: re-run it to upgrade or to change an answer. `install.sh --help` says how.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE=$(cd "$HERE/../.." && pwd) # the checkout this script belongs to is what gets installed

usage() {
    cat <<'EOF'
Usage: sudo deploy/raspberry-pi/install.sh [OPTIONS]

Installs Hallway Kiosk on this Raspberry Pi: the server as a systemd service, Chromium in
kiosk mode on the screen, and a Samba share staff drop stories into. Run it again at any time
to upgrade (after `git pull`) or to change an answer; earlier answers are remembered in
/etc/kiosk/install.conf.

What to install
  --server URL         a second screen: show the server at URL (http://kiosk.local:8000)
                       and install no server and no share here
  --no-screen          the server and the share only, no browser on this machine
  --no-samba           no share (stories arrive some other way)

Where things go
  --content-dir DIR    the folder staff drop stories into (default /srv/stories)
  --data-dir DIR       the server's state: database, photos (default /var/lib/kiosk)
  --port N             the server's port (default 8000)
  --staff-group NAME   the group whose members may use the share (default kiosk-staff)

The screen
  --screen-name NAME   this screen's name, as in [screens.NAME] (default: the host name)
  --portrait           the screen hangs on its side (rotated 90 degrees, portrait theme)
  --landscape          undo --portrait
  --user NAME          the account the screen's session runs as (default: the user who ran
                       sudo, else the first user; created if missing)
  --lite               start the session with greetd (Raspberry Pi OS Lite)
  --desktop            autologin into labwc on the desktop image (default when a desktop exists)

The rest
  --hostname NAME      rename this Pi (the share becomes \\NAME\stories)
  --timezone ZONE      e.g. Europe/Berlin (default: this Pi's time zone)
  --quiet-hours LIST   when screens go dark, e.g. "mon-fri 19:00-07:00;sat-sun 00:00-24:00"
  --dry-run            change nothing: write every file under $DESTDIR (default: a new temp
                       folder) instead of /, and print the commands instead of running them
  -h, --help           this text
EOF
}

die() {
    echo "install.sh: $*" >&2
    exit 2
}

# ---- answers: defaults < the previous run's < this run's options ---------------------------
DESTDIR=${DESTDIR:-}
DRY_RUN=no
CONTENT_DIR=/srv/stories
DATA_DIR=/var/lib/kiosk
PORT=8000
STAFF_GROUP=kiosk-staff
SCREEN_NAME=
ROTATE=normal
SESSION_USER=
MODE=auto
SCREEN=yes
SERVER=yes
SAMBA=yes
SERVER_URL=
SET_HOSTNAME=
TIMEZONE=
TIMEZONE_GIVEN=
QUIET_HOURS=
PROTECT_HOME=yes

for arg in "$@"; do
    case $arg in
    -h | --help)
        usage
        exit 0
        ;;
    --dry-run) DRY_RUN=yes ;;
    esac
done
if [ "$DRY_RUN" = yes ] && [ -z "$DESTDIR" ]; then
    DESTDIR=$(mktemp -d -t kiosk-install.XXXXXX)
fi
DESTDIR=${DESTDIR%/}
[ "$DRY_RUN" = yes ] || [ -z "$DESTDIR" ] || die "DESTDIR is for --dry-run only"
[ "$DRY_RUN" = yes ] || [ "$(id -u)" -eq 0 ] || die "run it as root: sudo $0 $*"

# shellcheck source=/dev/null
[ -r "$DESTDIR/etc/kiosk/install.conf" ] && . "$DESTDIR/etc/kiosk/install.conf"

need() { [ -n "${2:-}" ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
    case $1 in
    --dry-run) ;;
    --server) need "$1" "${2:-}"; SERVER_URL=$2; SERVER=no; SAMBA=no; SCREEN=yes; shift ;;
    --no-screen) SCREEN=no ;;
    --no-samba) SAMBA=no ;;
    --content-dir) need "$1" "${2:-}"; CONTENT_DIR=$2; shift ;;
    --data-dir) need "$1" "${2:-}"; DATA_DIR=$2; shift ;;
    --port) need "$1" "${2:-}"; PORT=$2; shift ;;
    --staff-group) need "$1" "${2:-}"; STAFF_GROUP=$2; shift ;;
    --screen-name) need "$1" "${2:-}"; SCREEN_NAME=$2; shift ;;
    --portrait) ROTATE=90 ;;
    --landscape) ROTATE=normal ;;
    --user) need "$1" "${2:-}"; SESSION_USER=$2; shift ;;
    --lite) MODE=lite ;;
    --desktop) MODE=desktop ;;
    --hostname) need "$1" "${2:-}"; SET_HOSTNAME=$2; shift ;;
    --timezone) need "$1" "${2:-}"; TIMEZONE=$2; TIMEZONE_GIVEN=yes; shift ;;
    --quiet-hours) need "$1" "${2:-}"; QUIET_HOURS=$2; shift ;;
    *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done

HOST=${SET_HOSTNAME:-$(hostname)}
# Screens are told apart by name (the admin page lists them, [screens.NAME] sets them up): by
# default each is named after its Pi, so two screens never both call themselves "default".
SCREEN_NAME=${SCREEN_NAME:-$(printf '%s' "$HOST" | tr -c 'A-Za-z0-9_-' '-' | cut -c1-64)}

case $CONTENT_DIR$DATA_DIR in *[\'\"\|\\[:space:]]*) die "folder names must not contain quotes, |, \\ or spaces" ;; esac
case $CONTENT_DIR in /*) ;; *) die "--content-dir must be an absolute path" ;; esac
case $DATA_DIR in /*) ;; *) die "--data-dir must be an absolute path" ;; esac
case $DATA_DIR/ in "$CONTENT_DIR"/*) die "--data-dir must not be inside --content-dir" ;; esac
[[ $SCREEN_NAME =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ ]] || die "--screen-name: letters, digits, - and _"
if ! [[ $PORT =~ ^[0-9]+$ ]] || [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then die "--port: 1 to 65535"; fi
[[ $STAFF_GROUP =~ ^[a-z_][a-z0-9_-]*$ ]] || die "--staff-group: a lower-case group name"
[ -z "$SERVER_URL" ] || [[ $SERVER_URL =~ ^https?://[^[:space:]\'\"]+$ ]] || die "--server: a URL like http://kiosk.local:8000"
[ -z "$SET_HOSTNAME" ] || [[ $SET_HOSTNAME =~ ^[A-Za-z0-9][A-Za-z0-9-]{0,62}$ ]] || die "--hostname: letters, digits and -"
case $QUIET_HOURS in *[\'\"\\]*) die "--quiet-hours must not contain quotes" ;; esac
[ "$SERVER" = yes ] || [ "$SCREEN" = yes ] || die "--server and --no-screen leave nothing to install"

VENV=/opt/kiosk
CONFIG=/etc/kiosk/kiosk.toml
HEALTH_SECONDS=${HEALTH_SECONDS:-90} # a Pi 4 on an SD card takes ~10 s; the first start longer
if [ -z "$TIMEZONE" ]; then
    TIMEZONE=$(timedatectl show -p Timezone --value 2>/dev/null || cat /etc/timezone 2>/dev/null || echo UTC)
fi
FIRST_INSTALL=no
[ -e "$DESTDIR$DATA_DIR/kiosk.db" ] || FIRST_INSTALL=yes

# ---- how things are done: for real, or written under DESTDIR and printed ------------------
dry() { [ "$DRY_RUN" = yes ]; }

# Is systemd running here? Not inside an image builder's chroot (pi-gen, debootstrap, a
# container build): there units are enabled, to start at the first boot, but not started.
# sd_booted(3) asks the same question the same way. A dry run shows what a Pi would do.
systemd_runs() { dry || [ -d /run/systemd/system ]; }

run() {
    if dry; then
        printf '+'
        printf ' %q' "$@"
        printf '\n'
    else
        "$@"
    fi
}

# put PATH MODE < content: write a file (atomically) unless it already holds exactly that.
put() {
    local path=$DESTDIR$1 mode=$2 tmp
    mkdir -p "$(dirname "$path")"
    tmp=$(mktemp "$path.XXXXXX")
    cat >"$tmp"
    chmod "$mode" "$tmp"
    if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
        rm -f "$tmp"
        echo "unchanged $1"
    else
        mv -f "$tmp" "$path"
        echo "wrote     $1"
    fi
}

# render TEMPLATE: a file from this folder with its @NAME@ placeholders filled in.
render() {
    sed -e "s|@CONTENT_DIR@|$CONTENT_DIR|g" -e "s|@DATA_DIR@|$DATA_DIR|g" \
        -e "s|@STAFF_GROUP@|$STAFF_GROUP|g" -e "s|@CONFIG@|$CONFIG|g" -e "s|@VENV@|$VENV|g" \
        -e "s|@SESSION_USER@|$SESSION_USER|g" -e "s|@PROTECT_HOME@|$PROTECT_HOME|g" \
        "$HERE/$1"
}

# put_block PATH < content: own one marked block in a file that is otherwise someone else's.
put_block() {
    local path=$DESTDIR$1 begin="# >>> hallway-kiosk (install.sh keeps this block)" end="# <<< hallway-kiosk"
    local block current=""
    block=$(cat)
    [ -f "$path" ] && current=$(cat "$path")
    {
        printf '%s\n' "$current" | awk -v b="$begin" -v e="$end" '
            $0 == b {skip = 1; next}
            $0 == e {skip = 0; next}
            !skip' | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
        printf '%s\n%s\n%s\n' "$begin" "$block" "$end"
    } | sed '/./,$!d' | put "$1" "${2:-0644}"
}

# toml_set KEY VALUE: set a top-level key of the config, keeping everything else as it is.
toml_set() {
    local path=$DESTDIR$CONFIG
    awk -v key="$1" -v line="$1 = $2" '
        BEGIN {done = 0}
        !done && /^\[/ {print line; print ""; done = 1}
        !done && $0 ~ "^" key "[ \t]*=" {print line; done = 1; next}
        {print}
        END {if (!done) print line}' "$path" | put "$CONFIG" 0644 >/dev/null
}

mkdir_owned() { # mkdir_owned PATH OWNER:GROUP MODE
    mkdir -p "$DESTDIR$1"
    run chown "$2" "$1"
    run chmod "$3" "$1"
}

has_user() { getent passwd "$1" >/dev/null; }

sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; } # single-quoted for sh

# ---- 1. Debian packages --------------------------------------------------------------------
# Stories are written in every script staff and customers use: a font for each (about 24 MB to
# download), the same set the tests lay the wall out with. Noto core: Latin, Greek, Cyrillic,
# Arabic, Hebrew, Devanagari, Thai and more; WenQuanYi Micro Hei: Chinese, Japanese, Korean
# (a twentieth of Noto CJK's size); Noto Color Emoji; DejaVu as the last resort.
# `kiosk doctor` names any script left without a font.
FONTS=(fontconfig fonts-dejavu-core fonts-noto-core fonts-wqy-microhei fonts-noto-color-emoji)

install_packages() {
    local want=("${FONTS[@]}") optional=() pkg
    if [ "$SERVER" = yes ]; then
        want+=(python3-venv sqlite3)
        # libvips streams big PNG, TIFF and WebP photos in bands instead of decoding them whole
        # (an 80 MP PNG: ~50 MB instead of 320); trixie renamed it for 64-bit time
        if ! dry && apt-cache show libvips42t64 >/dev/null 2>&1; then want+=(libvips42t64); else want+=(libvips42); fi
        [ "$SAMBA" = no ] || want+=(samba samba-vfs-modules)
    fi
    if [ "$SCREEN" = yes ]; then
        want+=(python3-venv labwc v4l-utils)
        optional+=(wlopm wlr-randr)
        # Raspberry Pi OS Bookworm's desktop already has its own build, chromium-browser.
        if dpkg -s chromium-browser >/dev/null 2>&1; then want+=(chromium-browser); else want+=(chromium); fi
        [ "$MODE" != lite ] || want+=(greetd)
    fi
    for pkg in "${optional[@]}"; do
        # Not every release has every one (wlopm came with labwc); the rest works without them.
        if dry || apt-cache show "$pkg" >/dev/null 2>&1; then want+=("$pkg"); else echo "skipped   $pkg (not in this release)"; fi
    done
    mapfile -t want < <(printf '%s\n' "${want[@]}" | awk '!seen[$0]++')
    run apt-get update
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${want[@]}"
}

# ---- 2. users and folders ------------------------------------------------------------------
setup_users() {
    getent group "$STAFF_GROUP" >/dev/null || run groupadd "$STAFF_GROUP"
    if [ "$SERVER" = yes ]; then
        has_user kiosk || run useradd --system --user-group --home-dir "$DATA_DIR" \
            --no-create-home --shell /usr/sbin/nologin --comment "Hallway Kiosk server" kiosk
    fi
    if [ "$SCREEN" = yes ]; then
        has_user "$SESSION_USER" || run useradd --create-home --shell /bin/bash \
            --comment "Hallway Kiosk screen" "$SESSION_USER"
        # /dev/cec* belongs to the video group: switching the TV off at night needs it.
        run usermod --append --groups video "$SESSION_USER"
    fi
}

setup_folders() {
    mkdir_owned /etc/kiosk root:root 0755
    if [ "$SERVER" = yes ]; then
        # setgid: what staff drop stays in the staff group, whoever's account wrote it.
        mkdir_owned "$CONTENT_DIR" "kiosk:$STAFF_GROUP" 2775
        mkdir_owned "$DATA_DIR" kiosk:kiosk 0750
    fi
}

# The file staff copy, and what to do, right where they drop stories (kept if already there).
seed_content() {
    local name
    for name in _TEMPLATE.md _README.txt; do
        [ -e "$DESTDIR$CONTENT_DIR/$name" ] && continue
        install -m 0664 "$SOURCE/kiosk/starter/$name" "$DESTDIR$CONTENT_DIR/$name"
        echo "wrote     $CONTENT_DIR/$name"
        run chown "kiosk:$STAFF_GROUP" "$CONTENT_DIR/$name"
    done
}

# ---- 3. the program: a venv of its own (PEP 668: never the system's pip) --------------------
install_program() {
    local wheel
    [ -x "$DESTDIR$VENV/bin/python" ] || run python3 -m venv "$VENV"
    run "$VENV/bin/pip" install --quiet --upgrade pip
    # Built from a copy in a temp folder: building in the checkout would leave root-owned build/
    # and *.egg-info there, which the next `git pull` as the Pi's user trips over.
    if dry; then
        BUILD=/tmp/kiosk-build
    else
        BUILD=$(mktemp -d -t kiosk-build.XXXXXX)
        trap 'rm -rf "$BUILD"' EXIT
        mkdir "$BUILD/src"
        tar -C "$SOURCE" --exclude=./.git --exclude=./.venv --exclude=./build \
            --exclude='*.egg-info' --exclude=__pycache__ -cf - . | tar -C "$BUILD/src" -xf -
    fi
    run "$VENV/bin/pip" wheel --quiet --no-deps --wheel-dir "$BUILD/dist" "$BUILD/src"
    for wheel in "$BUILD"/dist/*.whl; do :; done # the one wheel (the pattern itself, in a dry run)
    # A copy, not -e: the checkout can be moved or deleted. The program itself is reinstalled
    # even when its version number has not changed, which after a `git pull` it often has not.
    run "$VENV/bin/pip" install --quiet --upgrade "$wheel"
    run "$VENV/bin/pip" install --quiet --no-deps --force-reinstall "$wheel"
    # Face detection frames new photos on the face; where OpenCV has no wheel (32-bit ARM) the
    # kiosk frames them on the upper middle instead, which is no reason to fail the install.
    run "$VENV/bin/pip" install --quiet --only-binary=:all: "${wheel}[faces]" ||
        echo "note: no OpenCV wheel for $(uname -m): new photos are framed on their upper middle"
    mkdir -p "$DESTDIR/usr/local/bin"
    ln -sfn "$VENV/bin/kiosk" "$DESTDIR/usr/local/bin/kiosk"
}

# ---- 4. configuration ----------------------------------------------------------------------
write_config() {
    if [ ! -f "$DESTDIR$CONFIG" ]; then
        put "$CONFIG" 0644 <<EOF
# Hallway Kiosk settings: every key is explained in docs/settings.md.
# install.sh keeps content_dir, data_dir and port in step with the service and the share
# (re-run it with --content-dir etc. to change them); everything else here is yours.
content_dir = '$CONTENT_DIR'
data_dir = '$DATA_DIR'
port = $PORT
host = "0.0.0.0" # so PCs on the network reach the admin page
timezone = "$TIMEZONE"
share_path = '\\\\$HOST\\stories'
# When the screens go dark (HDMI-CEC standby, or DPMS for monitors):
# quiet_hours = ["mon-fri 19:00-07:00", "sat-sun 00:00-24:00"]
EOF
    fi
    toml_set content_dir "'$CONTENT_DIR'"
    toml_set data_dir "'$DATA_DIR'"
    toml_set port "$PORT"
    [ -z "$TIMEZONE_GIVEN" ] || toml_set timezone "\"$TIMEZONE\""
    if [ -n "$QUIET_HOURS" ]; then
        local list
        list=$(printf '%s' "$QUIET_HOURS" | awk -F';' '{for (i = 1; i <= NF; i++) {gsub(/^ +| +$/, "", $i); if ($i != "") printf "%s\"%s\"", (n++ ? ", " : ""), $i}}')
        toml_set quiet_hours "[$list]"
    fi
    if [ "$ROTATE" != normal ] && [ "$SERVER" = yes ] &&
        ! grep -q "^\[screens\.$SCREEN_NAME\]" "$DESTDIR$CONFIG"; then
        printf '\n[screens.%s]\norientation = "portrait"\ntheme = "portrait"\n' "$SCREEN_NAME" |
            cat "$DESTDIR$CONFIG" - | put "$CONFIG" 0644 >/dev/null
    fi
    echo "settings  $CONFIG"
    # The answers of this run, read back by the next one (an upgrade is a re-run without options).
    {
        echo "# install.sh's answers, read when it runs again"
        for var in CONTENT_DIR DATA_DIR PORT STAFF_GROUP SCREEN_NAME ROTATE SESSION_USER MODE SCREEN SERVER SAMBA SERVER_URL; do
            printf '%s=%q\n' "$var" "${!var}"
        done
    } | put /etc/kiosk/install.conf 0644
}

# ---- 5. the server as a service, and SD-card care -----------------------------------------
install_service() {
    PROTECT_HOME=yes
    case "$CONTENT_DIR/ $DATA_DIR/" in */home/* | /root/*) PROTECT_HOME=read-only ;; esac
    render kiosk.service | put /etc/systemd/system/kiosk.service 0644
}

install_sd_care() {
    render journald-kiosk.conf | put /etc/systemd/journald.conf.d/kiosk.conf 0644
    render system-watchdog.conf | put /etc/systemd/system.conf.d/kiosk-watchdog.conf 0644
}

# ---- 6. the share --------------------------------------------------------------------------
install_samba() {
    local smb=/etc/samba/smb.conf include="include = /etc/samba/kiosk-stories.conf"
    render smb-stories.conf | put /etc/samba/kiosk-stories.conf 0644
    # The share's recycle bin keeps deleted files 30 days; systemd-tmpfiles-clean.timer sweeps.
    printf 'e %s/.recycle - - - 30d\n' "$CONTENT_DIR" | put /etc/tmpfiles.d/kiosk-recycle.conf 0644
    if [ ! -f "$DESTDIR$smb" ]; then # only under DESTDIR: the samba package ships one
        printf '[global]\n   workgroup = WORKGROUP\n   server role = standalone server\n' |
            put "$smb" 0644
    fi
    # The include goes last: it opens the [stories] section after everything else.
    grep -qxF "$include" "$DESTDIR$smb" ||
        { cat "$DESTDIR$smb"; printf '\n%s\n' "$include"; } | put "$smb" 0644
    if dry; then run testparm -s "$smb"; else testparm -s "$smb" >/dev/null; fi
}

# ---- 7. the screen -------------------------------------------------------------------------
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }

install_cursor_theme() {
    # An XCursor theme whose every pointer is one transparent pixel. labwc reads XCURSOR_THEME
    # from its environment file; this hides the pointer on the desktop and over Chromium alike,
    # where unclutter (an X11 tool) does nothing under Wayland.
    local dir=/usr/share/icons/kiosk-invisible name image
    # header: magic, header size, version, 1 table entry; entry: image type, nominal size 24,
    # offset 28; image: chunk size 36, type, size, version 1, 1x1 px, hotspot 0,0, delay 0, ARGB 0
    image="Xcur$(le32 16)$(le32 65536)$(le32 1)$(le32 4294770690)$(le32 24)$(le32 28)"
    image+="$(le32 36)$(le32 4294770690)$(le32 24)$(le32 1)$(le32 1)$(le32 1)$(le32 0)$(le32 0)$(le32 0)$(le32 0)"
    # shellcheck disable=SC2059 # the format is the point: it holds the bytes
    printf "$image" | put "$dir/cursors/default" 0644
    printf '[Icon Theme]\nName=kiosk-invisible\nComment=No visible pointer, for Hallway Kiosk screens\n' |
        put "$dir/index.theme" 0644
    for name in left_ptr arrow top_left_arrow pointer hand1 hand2 text xterm ibeam wait watch \
        progress left_ptr_watch crosshair cross move fleur grab grabbing all-scroll not-allowed \
        crossed_circle no-drop help question_arrow context-menu cell vertical-text alias copy \
        zoom-in zoom-out col-resize row-resize ew-resize ns-resize nesw-resize nwse-resize \
        e-resize w-resize n-resize s-resize ne-resize nw-resize se-resize sw-resize \
        sb_h_double_arrow sb_v_double_arrow top_side bottom_side left_side right_side \
        top_left_corner top_right_corner bottom_left_corner bottom_right_corner X_cursor; do
        ln -sfn default "$DESTDIR$dir/cursors/$name"
    done
}

install_screen() {
    local home
    home=$(getent passwd "$SESSION_USER" | cut -d: -f6) || home= # created by this run
    home=${home:-/home/$SESSION_USER}
    install -D -m 0755 "$HERE/kiosk-session" "$DESTDIR/usr/local/bin/kiosk-session"
    echo "installed /usr/local/bin/kiosk-session"
    local flags # kept across runs: the one line of screen.conf that is the admin's to edit
    # shellcheck source=/dev/null
    flags=$(. "$DESTDIR/etc/kiosk/screen.conf" 2>/dev/null && printf '%s' "${CHROMIUM_FLAGS:-}") || flags=
    {
        echo "# Written by install.sh (re-run it to change); read by /usr/local/bin/kiosk-session"
        printf 'SCREEN_NAME=%s\nSERVER_URL=%s\nROTATE=%s\n' "$SCREEN_NAME" "$(sq "$SERVER_URL")" "$ROTATE"
        echo "# Extra Chromium flags, e.g. --force-device-scale-factor=1.5 (kept by install.sh)"
        printf 'CHROMIUM_FLAGS=%s\n' "$(sq "$flags")"
    } | put /etc/kiosk/screen.conf 0644
    install_cursor_theme
    render labwc-autostart | put_block "$home/.config/labwc/autostart"
    render labwc-environment | put_block "$home/.config/labwc/environment"
    # ~/.config too: made just now by root when the account has never logged in (a new --user)
    run chown "$SESSION_USER:" "$home/.config"
    run chown -R "$SESSION_USER:" "$home/.config/labwc"

    if [ "$MODE" = lite ]; then
        if [ -f "$DESTDIR/etc/greetd/config.toml" ] && [ ! -f "$DESTDIR/etc/greetd/config.toml.orig" ] &&
            ! grep -q "Hallway Kiosk" "$DESTDIR/etc/greetd/config.toml"; then
            cp -p "$DESTDIR/etc/greetd/config.toml" "$DESTDIR/etc/greetd/config.toml.orig"
        fi
        render greetd-config.toml | put /etc/greetd/config.toml 0644
        run systemctl enable greetd.service
        run systemctl set-default graphical.target
    elif command -v raspi-config >/dev/null; then
        # B4: desktop autologin; W3: labwc; blanking 1: off (raspi-config's own words).
        run raspi-config nonint do_boot_behaviour B4
        run raspi-config nonint do_wayland W3
        run raspi-config nonint do_blanking 1
    else
        render lightdm-kiosk.conf | put /etc/lightdm/lightdm.conf.d/50-kiosk.conf 0644
        run systemctl set-default graphical.target
    fi
}

# ---- 8. start, prove it answers, and the first admin password -----------------------------
PASSWORD_CMD="journalctl -u kiosk -o cat | grep -A2 'First start'"
RESET_CMD="sudo -u kiosk kiosk user passwd admin --config $CONFIG"

start_everything() {
    if ! systemd_runs; then
        [ "$SERVER" = no ] || run systemctl enable kiosk.service
        [ "$SAMBA" = no ] || run systemctl enable smbd.service
        echo "not started: systemd is not running here (an image being built?); the services are" \
            "enabled and start at the first boot"
        return 0
    fi
    run systemctl daemon-reload
    [ "$SERVER" = no ] || run systemctl restart systemd-journald
    if [ "$SERVER" = yes ]; then
        run systemctl enable kiosk.service
        run systemctl restart kiosk.service
    fi
    [ "$SAMBA" = no ] || run systemctl enable --now smbd.service
    [ "$SAMBA" = no ] || run systemctl reload smbd.service
}

# "Installed" is said only of a server that answers: systemd restarts a broken one every few
# seconds for ever, which from outside looks just like one that is starting.
prove_server() {
    systemd_runs || return 0
    if dry; then
        run bash "$HERE/wait-healthy" "$PORT" "$HEALTH_SECONDS"
        return 0
    fi
    bash "$HERE/wait-healthy" "$PORT" "$HEALTH_SECONDS" && return 0
    echo >&2
    echo "The server did not come up. Its last words (journalctl -u kiosk -n 30):" >&2
    journalctl -u kiosk.service -n 30 --no-pager -o cat >&2 || true
    echo >&2
    die "Hallway Kiosk is NOT working: fix what the log says, then run install.sh again"
}

# The server prints the first admin's password once, on its first start (as Jupyter does).
first_password() {
    local i pw=""
    for i in $(seq 15); do
        pw=$(journalctl -u kiosk.service -o cat --no-pager 2>/dev/null |
            awk '/First start: created the user/ {f = 1; next} f && NF {print $1; exit}')
        [ -n "$pw" ] && break
        [ "$i" -lt 15 ] && sleep 1
    done
    printf '%s' "$pw"
}

main() {
    if [ "$SCREEN" = yes ] && [ -z "$SESSION_USER" ]; then
        if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
            SESSION_USER=$SUDO_USER
        else
            SESSION_USER=$(getent passwd 1000 | cut -d: -f1) || SESSION_USER=
            [ -z "$SESSION_USER" ] ||
                echo "screen    runs as $SESSION_USER, the first user (run as root, not with sudo; --user NAME to choose)"
        fi
        [ -n "$SESSION_USER" ] || die "say which account shows the screen: --user NAME"
    fi
    if [ "$MODE" = auto ]; then
        MODE=lite
        if [ -d /usr/share/xsessions ] || [ -x /usr/sbin/lightdm ]; then MODE=desktop; fi
    fi
    dry && echo "dry run: files go under $DESTDIR, commands are only printed"

    install_packages
    setup_users
    setup_folders
    [ "$SERVER" = no ] || seed_content
    install_program
    write_config
    if [ "$SERVER" = yes ]; then
        install_service
        install_sd_care
        [ "$SAMBA" = no ] || install_samba
    fi
    [ "$SCREEN" = no ] || install_screen
    if [ -n "$SET_HOSTNAME" ]; then
        if command -v raspi-config >/dev/null; then
            run raspi-config nonint do_hostname "$SET_HOSTNAME"
        elif systemd_runs; then
            run hostnamectl set-hostname "$SET_HOSTNAME"
        else
            echo "$SET_HOSTNAME" | put /etc/hostname 0644
        fi
    fi
    start_everything
    [ "$SERVER" = no ] || prove_server

    local ip password
    ip=$(hostname -I 2>/dev/null | awk '{print $1}')
    echo
    echo "Hallway Kiosk is installed."
    if [ "$SERVER" = yes ]; then
        echo "  Admin page:   http://$HOST.local:$PORT/admin${ip:+   (or http://$ip:$PORT/admin)}"
        if [ "$FIRST_INSTALL" = yes ]; then
            if dry; then
                echo "  First admin:  admin, with the password the server prints on its first start"
            elif ! systemd_runs; then
                echo "  First admin:  admin, with the password the server prints on its first start;"
                echo "                read it then with: $PASSWORD_CMD"
            elif password=$(first_password) && [ -n "$password" ]; then
                echo "  First admin:  admin / $password   (shown once: write it down, then change it)"
            else
                echo "  First admin:  admin; read the password with: $PASSWORD_CMD"
            fi
            echo "                forgot it? $RESET_CMD"
        else
            echo "  Admins:       unchanged (forgot a password? $RESET_CMD)"
        fi
        if [ "$SAMBA" = yes ]; then
            printf '  Share:        \\\\%s\\stories   (Mac: smb://%s.local/stories)\n' "$HOST" "$HOST"
            echo "                staff sign in with a Samba account in the $STAFF_GROUP group:"
            echo "                sudo useradd -M -s /usr/sbin/nologin -G $STAFF_GROUP NAME && sudo smbpasswd -a NAME"
        fi
    fi
    if [ "$SCREEN" = yes ]; then
        echo "  Screen:       '$SCREEN_NAME' as $SESSION_USER ($MODE), showing ${SERVER_URL:-this Pi} at /display?screen=$SCREEN_NAME; reboot to start it"
    fi
    echo "  Check it:     kiosk doctor --config $CONFIG"
}

main
