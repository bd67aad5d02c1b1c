// CPrefetch is one inline function in its header; a C target needs one source file.
#include "CPrefetch.h"
