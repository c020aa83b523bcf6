// The original example's child process, exactly as Microsoft's documentation
// ("Using Shared Memory in a Dynamic-Link Library") prints it. A test
// fixture for interoperability checks under Windows; never built for
// users, never installed. Do not edit: it must stay the original.

// Child process

#include <windows.h>
#include <tchar.h>
#include <stdio.h>

extern "C" VOID __cdecl GetSharedMem(LPWSTR lpszBuf, DWORD cchSize);

int _tmain( void )
{
    WCHAR cBuf[MAX_PATH];

    GetSharedMem(cBuf, MAX_PATH);
 
    printf("Child process read from shared memory: %S\n", cBuf);
    
    return 0;
}
