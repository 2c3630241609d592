/*
 * bcryptprimitives.dll stub for running Rust Windows test binaries under
 * Wine 8.0.
 *
 * Rust's std (1.78+) imports ProcessPrng from bcryptprimitives.dll for
 * its random numbers (HashMap seeds, ...). Wine 8.0 does not ship that
 * DLL, so every Rust .exe fails to load. This stub exports ProcessPrng and
 * forwards to BCryptGenRandom (bcrypt.dll, which Wine has), using the
 * system-preferred RNG.
 *
 * Build (scripts/windows-tests.sh does this):
 *   x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll \
 *       bcryptprimitives.c bcryptprimitives.def -lbcrypt
 * and place the DLL next to the .exe (scripts/wine-runner.sh does that).
 *
 * Test tooling only: never shipped, never used on real Windows.
 */
#include <windows.h>
#include <bcrypt.h>

#ifndef BCRYPT_USE_SYSTEM_PREFERRED_RNG
#define BCRYPT_USE_SYSTEM_PREFERRED_RNG 0x00000002
#endif

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG n = len > 0x40000000u ? 0x40000000u : (ULONG)len;
        if (BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)inst;
    (void)reason;
    (void)reserved;
    return TRUE;
}
