# Sourced by the scripts that run Windows programs under Wine.
#
#   wine_exit RC FINISHED WHAT
#
# Judges the exit status RC of a Windows program run under Wine. Wine
# hands the program's exit code to the Unix parent as the exit status of
# the program's Unix process, but it does not wait for that process to be
# gone: once the program's last Windows thread has ended, wineserver
# probes the Unix process (after 1/64 s, then doubling) and sends it
# SIGKILL when it is still there about half a second later. On a loaded
# machine a program that had done all its work and returned 0 can so end
# with status 137 (a CI run saw it once: a Go bench server stopped by
# Ctrl-C, its closing report printed in full, then "Killed").
#
# So 137 counts as a clean exit when FINISHED is 1, that is when the
# caller has seen the program's own last output (a test binary's PASS, a
# server's closing report, a client's complete result line); it is said
# on stderr so the log shows it. Any other status, or 137 without that
# last output, is returned as it is.
wine_exit() {
    local rc="$1" finished="$2" what="$3"
    if [ "$rc" -eq 137 ] && [ "$finished" = 1 ]; then
        echo "$what: its Unix process was killed by wineserver after the program had finished (its last output is there): counted as exit 0" >&2
        return 0
    fi
    return "$rc"
}
