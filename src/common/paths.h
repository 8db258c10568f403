/* The install directories bmd and bmdctl are built with (see Makefile). */
#ifndef BMD_PATHS_H
#define BMD_PATHS_H

#ifndef LOCALBASE
#define LOCALBASE		"/usr/local"
#endif
#ifndef BMD_SYSCONFDIR
#define BMD_SYSCONFDIR		LOCALBASE "/etc"
#endif
#ifndef BMD_LIBEXECDIR
#define BMD_LIBEXECDIR		LOCALBASE "/libexec/bmd"
#endif
#ifndef BMD_LOCALSTATEDIR
#define BMD_LOCALSTATEDIR	LOCALBASE "/var"
#endif
#ifndef BMD_RUNDIR
#define BMD_RUNDIR		"/run"
#endif

#define BMD_CONF_PATH		BMD_SYSCONFDIR "/bmd.conf"
#define BMD_VARS_DIR		BMD_LOCALSTATEDIR "/cache/bmd"
#define BMD_SOCKET_PATH		BMD_RUNDIR "/bmd.sock"
#define BMD_PID_PATH		BMD_RUNDIR "/bmd.pid"
#define BMD_RUN_DIR		BMD_RUNDIR "/bmd"

#endif
