# Sourced by the scripts that run Windows builds under Wine.
#
#   wine_prefix_ready WINE PREFIX NAME
#
# Makes PREFIX a booted, working Wine prefix before any test runs in it.
# Left to itself, the first Windows program started in a new prefix boots
# the prefix on the side (wineboot) and goes on once the boot signals or a
# time-out passes; a CI run once saw that first program die with
# "could not load kernel32.dll, status c0000135" (exit 53) right after the
# prefix was made. So the prefix is booted here on purpose, every process
# the boot started is waited for (`wineserver -w`), and a trivial program
# must then print its line. A prefix that fails that check is reported with
# Wine's error channel and loader trace (the evidence to find the cause) and
# made anew once (only a prefix made here); a second failure fails the run. A prefix that passed once
# carries a marker and is not checked again.
wine_prefix_ready() {
    local wine="$1" prefix="$2" name="$3"
    local marker="$prefix/.netipc-prefix-ready"
    # Only a prefix these scripts made is ever removed (a WINEPREFIX given
    # by the user is booted and checked, never deleted).
    local owned="$prefix/.netipc-prefix-owned"
    [ -f "$marker" ] && return 0
    local wineserver
    wineserver="$(dirname "$wine")/wineserver"
    local log attempt out
    log="$(mktemp "${TMPDIR:-/tmp}/netipc-wineboot.XXXXXX")"
    for attempt in 1 2; do
        if [ ! -e "$prefix" ]; then
            mkdir -p "$prefix"
            touch "$owned"
        fi
        WINEPREFIX="$prefix" WINEDEBUG=err+all "$wine" wineboot --init >"$log" 2>&1 || true
        WINEPREFIX="$prefix" "$wineserver" -w || true
        # Judged by its output alone (see scripts/wine-exit.sh for why an
        # exit status from Wine can lie).
        out="$(WINEPREFIX="$prefix" WINEDEBUG=-all "$wine" cmd /c echo netipc-wine-ok 2>>"$log")" || true
        if [[ "$out" == *netipc-wine-ok* ]]; then
            touch "$marker"
            rm -f "$log"
            return 0
        fi
        {
            echo "$name: the Wine prefix $prefix does not work (attempt $attempt of 2); what Wine said:"
            sed 's/^/  /' "$log" | tail -n 40
            echo "  system32/kernel32.dll: $(ls -l "$prefix/drive_c/windows/system32/kernel32.dll" 2>&1)"
            echo "  loader trace of the check:"
            WINEPREFIX="$prefix" WINEDEBUG=err+all,+loaddll "$wine" cmd /c echo netipc-wine-ok 2>&1 |
                sed 's/^/    /' | tail -n 30
        } >&2
        WINEPREFIX="$prefix" "$wineserver" -k 2>/dev/null || true
        WINEPREFIX="$prefix" "$wineserver" -w 2>/dev/null || true
        [ -f "$owned" ] || break
        rm -rf "$prefix"
    done
    rm -f "$log"
    echo "$name: could not make a working Wine prefix at $prefix" >&2
    return 1
}
