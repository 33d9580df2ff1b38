// Linked into every executable of a sanitizer build (VKGRAD_SANITIZE, see the top-level
// CMakeLists.txt): dlclose() does nothing, so the Vulkan driver and layers the loader opens stay
// loaded until the process exits.
//
// Why: LeakSanitizer checks for leaks at exit and can name the library an allocation came from (the
// module a suppression matches) only while that library is loaded; the loader unloads the driver
// and the layers in vkDestroyInstance, so their allocations would be reported from "<unknown
// module>", which no suppression can match and nobody can attribute. An unloaded library's globals
// are also no longer scanned, so memory a driver keeps for the life of the process (reachable, not
// leaked) would be reported as a leak. Keeping libraries loaded changes nothing else a test checks.
//
// It takes effect because the executable depends on this library before libc: the dynamic linker
// resolves every library's dlclose() here first (through AddressSanitizer's interceptor, which
// calls the next definition: this one).

extern "C" int dlclose(void* /*handle*/) { return 0; }
