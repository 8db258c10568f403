/* The QEMU driver's monitor client (qmp.c), used by qemu_run.c only. */
#ifndef BMD_QMP_H
#define BMD_QMP_H

struct qmp;
struct vm;

struct qmp	*qmp_open(struct vm *, const char *path);
void		 qmp_close(struct qmp *);
/* Queue a command; -1 if the connection is dead. */
int		 qmp_execute(struct qmp *, const char *cmd);
void		 qmp_probe(struct qmp *);

#endif
