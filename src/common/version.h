/* The version of bmd and bmdctl. */
#ifndef BMD_VERSION
#define BMD_VERSION	"0.1.0"
#endif
