// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kestrel-syscall-test - the driver's syscall matrix, run inside a VM guest.
 *
 * Performs every syscall kestrel.ko decodes, with known arguments (failing
 * calls too), and writes for each what the consumer's decoded JSON must show:
 *
 *   EXPECT<TAB>label<TAB>type<TAB>dir<TAB>tid=N<TAB>name=value...
 *   NOEXPECT<TAB>label<TAB>type<TAB>dir<TAB>tid=N<TAB>name=value...
 *
 * type is the event's Falco-style name, dir is '<' (syscall exit), '>'
 * (syscall entry) or '-' (not a syscall: procexit, procfork, procexec).
 * A field is one of
 *   name=JSON     args.name (or the top-level field, such as res) is exactly
 *                 this JSON value (number, "string", [array], null)
 *   name^=JSON    a value whose JSON text starts with this ("/tmp/a or ["a)
 *   name@faulted  listed in the event's "faulted" parameters
 *   name@truncated  listed in the event's "truncated" parameters
 *   name?         present
 * EXPECT asks for one event matching every field; NOEXPECT for none.  Values
 * are what the kernel really returned here (results, fds, ports, ids), so a
 * test fails if the module or the decoder records something else.
 *
 * The checker is expect_lines in tests/vm/lib.sh.  Syscalls that libc would
 * replace by another (open -> openat, fork -> clone) are made with
 * syscall(2).  Setup failures (a call that must succeed for the test to mean
 * anything) print "SETUP-FAIL" and exit 2.
 *
 * Usage:
 *   kestrel-syscall-test matrix EXPECTFILE     the full matrix
 *   kestrel-syscall-test snaplen N EXPECTFILE  truncation checks at snaplen N
 *   kestrel-syscall-test argvpad               execve with padded argv/env
 *   kestrel-syscall-test race SECS EXPECTFILE  a sibling thread races the
 *                                              names of open, bind, connect
 *   kestrel-syscall-test storm N               N rounds of cheap syscalls
 *   kestrel-syscall-test noop [ARGS...]        exit 0 (an execve target)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <time.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define Q "\"%s\""		/* a JSON string field value */
#define T "\t"

static int expect_fd = -1;
static int n_expect;
static char workdir[64];
/* This program's absolute path (/proc/self/exe): an execve target. */
static char self[256];

/* A raw syscall's result as the kernel returned it: value or -errno. */
#define SC(...) ({ long _r = syscall(__VA_ARGS__); _r == -1 ? -(long)errno : _r; })

static void die(const char *what)
{
	fprintf(stderr, "SETUP-FAIL: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void need(int ok, const char *what)
{
	if (!ok)
		die(what);
}

static void write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("write expectation");
		}
		buf += w;
		n -= (size_t)w;
	}
}

static pid_t tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* One expectation line; written with one write() (children share the fd). */
static void emit(const char *kind, const char *label, const char *type,
		 const char *dir, pid_t who, const char *fmt, ...)
{
	char buf[8192];
	int n;
	va_list ap;

	n = snprintf(buf, sizeof(buf), "%s\t%s\t%s\t%s\ttid=%d", kind, label,
		     type, dir, who);
	if (fmt && *fmt) {
		buf[n++] = '\t';
		va_start(ap, fmt);
		n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
		va_end(ap);
	}
	if (n >= (int)sizeof(buf) - 1)
		die("expectation line too long");
	buf[n++] = '\n';
	write_all(expect_fd, buf, (size_t)n);
	n_expect++;
}

/* Exit event of the calling thread. */
#define EXPECT(label, type, ...) emit("EXPECT", label, type, "<", tid(), __VA_ARGS__)
/* Entry event of the calling thread. */
#define EXPECT_ENTER(label, type, ...) emit("EXPECT", label, type, ">", tid(), __VA_ARGS__)
/* Any event of thread WHO. */
#define EXPECT_TID(who, label, type, dir, ...) emit("EXPECT", label, type, dir, who, __VA_ARGS__)
/* An event of thread WHO that is not a syscall (procexit...). */
#define EXPECT_PROC(who, label, type, ...) emit("EXPECT", label, type, "-", who, __VA_ARGS__)
/* No exit event of the calling thread matches. */
#define NOEXPECT(label, type, ...) emit("NOEXPECT", label, type, "<", tid(), __VA_ARGS__)

/* How addresses and socket ends are rendered: 127.0.0.1:80, [::1]:80,
 * tuples as local->remote. */
static void fmt_in(char *buf, size_t n, const char *ip, int port)
{
	snprintf(buf, n, strchr(ip, ':') ? "[%s]:%d" : "%s:%d", ip, port);
}

static void fmt_tuple(char *buf, size_t n, const char *sip, int sport,
		      const char *dip, int dport)
{
	char a[80], b[80];

	fmt_in(a, sizeof(a), sip, sport);
	fmt_in(b, sizeof(b), dip, dport);
	snprintf(buf, n, "%s->%s", a, b);
}

static struct sockaddr_in sin_of(const char *ip, int port)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	need(inet_pton(AF_INET, ip, &sa.sin_addr) == 1, "inet_pton");
	return sa;
}

static int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	need(getsockname(fd, (struct sockaddr *)&ss, &len) == 0, "getsockname");
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void path_in(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", workdir, name);
}

/* Runs fn in a forked child (raw fork: the child reports its own tid) and
 * returns its wait status. */
static int in_child(void (*fn)(void))
{
	pid_t p = fork();
	int st;

	need(p >= 0, "fork");
	if (p == 0) {
		fn();
		_exit(0);
	}
	need(waitpid(p, &st, __WALL) == p, "waitpid");
	return st;
}

static void wait_child(pid_t p, int *st)
{
	need(waitpid(p, st, __WALL) == p, "waitpid");
}

/* ---------------------------------------------------------------------- */
/* Files                                                                   */

static void test_open_family(void)
{
	char path[256], rel[64];
	long r, dfd;
	struct open_how how;

	/* open: an existing file, a missing one, a bad pointer. */
	r = SC(SYS_open, "/etc/hostname", O_RDONLY, 0);
	need(r >= 0, "open /etc/hostname");
	EXPECT("open existing", "open",
	       "res=%ld" T "name=\"/etc/hostname\"" T "flags=%d" T "mode=0" T
	       "fullpath=\"/etc/hostname\"", r, O_RDONLY);
	close((int)r);
	r = SC(SYS_open, "/nonexistent/kestrel-open", O_RDONLY | O_CLOEXEC, 0);
	need(r == -ENOENT, "open of a missing file fails with ENOENT");
	EXPECT("open missing", "open",
	       "res=%ld" T "name=\"/nonexistent/kestrel-open\"" T "flags=%d",
	       r, O_RDONLY | O_CLOEXEC);
	r = SC(SYS_open, (char *)1, O_RDONLY, 0);
	need(r == -EFAULT, "open of a bad pointer fails with EFAULT");
	EXPECT("open bad pointer", "open", "res=%ld" T "name@faulted" T "name=null", r);

	/* openat: create with a mode, then relative to a directory fd. */
	path_in(path, sizeof(path), "created-by-openat");
	r = SC(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	need(r >= 0, "openat O_CREAT");
	EXPECT("openat create", "openat",
	       "res=%ld" T "dirfd=%d" T "name=" Q T "flags=%d" T "mode=%d" T
	       "fullpath=" Q, r, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC,
	       0640, path);
	close((int)r);
	dfd = SC(SYS_openat, AT_FDCWD, "/etc", O_RDONLY | O_DIRECTORY, 0);
	need(dfd >= 0, "openat /etc");
	EXPECT("openat directory", "openat",
	       "res=%ld" T "name=\"/etc\"" T "flags=%d" T "fullpath=\"/etc\"",
	       dfd, O_RDONLY | O_DIRECTORY);
	r = SC(SYS_openat, dfd, "hostname", O_RDONLY | O_CLOEXEC, 0);
	need(r >= 0, "openat dirfd hostname");
	EXPECT("openat relative to dirfd", "openat",
	       "res=%ld" T "dirfd=%ld" T "name=\"hostname\"" T "flags=%d" T
	       "fullpath=\"/etc/hostname\"", r, dfd, O_RDONLY | O_CLOEXEC);
	close((int)r);
	/* Relative to the cwd: the kernel resolves the absolute path. */
	need(chdir(workdir) == 0, "chdir workdir");
	snprintf(rel, sizeof(rel), "created-by-openat");
	r = SC(SYS_openat, AT_FDCWD, rel, O_RDONLY, 0);
	need(r >= 0, "openat relative to cwd");
	EXPECT("openat relative to cwd", "openat",
	       "res=%ld" T "dirfd=%d" T "name=" Q T "fullpath=" Q, r, AT_FDCWD,
	       rel, path);
	close((int)r);
	r = SC(SYS_openat, AT_FDCWD, "/nonexistent/kestrel-openat", O_RDONLY, 0);
	EXPECT("openat missing", "openat",
	       "res=%ld" T "name=\"/nonexistent/kestrel-openat\"", r);
	r = SC(SYS_openat, AT_FDCWD, (char *)1, O_RDONLY, 0);
	EXPECT("openat bad pointer", "openat", "res=%ld" T "name@faulted" T "name=null", r);

	/* openat2 with a resolve flag. */
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC;
	how.resolve = RESOLVE_NO_SYMLINKS;
	r = SC(SYS_openat2, dfd, "hostname", &how, sizeof(how));
	need(r >= 0, "openat2");
	EXPECT("openat2 resolve", "openat2",
	       "res=%ld" T "dirfd=%ld" T "name=\"hostname\"" T "flags=%d" T
	       "resolve=%d" T "fullpath=\"/etc/hostname\"", r, dfd,
	       O_RDONLY | O_CLOEXEC, RESOLVE_NO_SYMLINKS);
	close((int)r);
	how.resolve = RESOLVE_BENEATH;
	r = SC(SYS_openat2, dfd, "/etc/hostname", &how, sizeof(how));
	need(r < 0, "openat2 RESOLVE_BENEATH of an absolute path fails");
	EXPECT("openat2 beneath fails", "openat2",
	       "res=%ld" T "name=\"/etc/hostname\"" T "resolve=%d", r,
	       RESOLVE_BENEATH);
	close((int)dfd);

	/* creat */
	path_in(path, sizeof(path), "created-by-creat");
	r = SC(SYS_creat, path, 0600);
	need(r >= 0, "creat");
	EXPECT("creat", "creat",
	       "res=%ld" T "name=" Q T "mode=%d" T "fullpath=" Q, r, path,
	       0600, path);
	close((int)r);
}

static void test_fd_calls(void)
{
	long fd, r;
	int fds[2];

	fd = SC(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY, 0);
	need(fd >= 0, "openat for dup");
	r = SC(SYS_dup, fd);
	need(r >= 0, "dup");
	EXPECT("dup", "dup", "res=%ld" T "oldfd=%ld", r, fd);
	r = SC(SYS_dup2, fd, 50);
	need(r == 50, "dup2");
	EXPECT("dup2", "dup2", "res=50" T "oldfd=%ld" T "newfd=50", fd);
	r = SC(SYS_dup3, fd, 51, O_CLOEXEC);
	need(r == 51, "dup3");
	EXPECT("dup3", "dup3", "res=51" T "oldfd=%ld" T "newfd=51" T "flags=%d",
	       fd, O_CLOEXEC);
	r = SC(SYS_dup3, fd, fd, 0);
	EXPECT("dup3 same fd fails", "dup3", "res=%ld" T "oldfd=%ld" T "newfd=%ld",
	       r, fd, fd);

	/* fcntl: only F_DUPFD* is recorded. */
	r = SC(SYS_fcntl, fd, F_DUPFD, 60);
	need(r >= 60, "fcntl F_DUPFD");
	EXPECT("fcntl F_DUPFD", "fcntl", "res=%ld" T "fd=%ld" T "cmd=%d", r, fd,
	       F_DUPFD);
	r = SC(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 70);
	need(r >= 70, "fcntl F_DUPFD_CLOEXEC");
	EXPECT("fcntl F_DUPFD_CLOEXEC", "fcntl", "res=%ld" T "fd=%ld" T "cmd=%d",
	       r, fd, F_DUPFD_CLOEXEC);
	r = SC(SYS_fcntl, fd, F_GETFL);
	need(r >= 0, "fcntl F_GETFL");
	NOEXPECT("fcntl F_GETFL is not recorded", "fcntl", "cmd=%d", F_GETFL);
	NOEXPECT("fcntl F_SETFD is not recorded", "fcntl", "cmd=%d", F_SETFD);
	r = SC(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);

	/* close: a real fd and a bad one. */
	r = SC(SYS_close, 50);
	EXPECT("close", "close", "res=%ld" T "fd=50", r);
	r = SC(SYS_close, 9999);
	need(r == -EBADF, "close of a bad fd fails with EBADF");
	EXPECT("close bad fd", "close", "res=%ld" T "fd=9999", r);
	close(51);
	close((int)fd);

	/* pipe, pipe2 */
	r = SC(SYS_pipe, fds);
	need(r == 0, "pipe");
	EXPECT("pipe", "pipe", "res=0" T "fd1=%d" T "fd2=%d", fds[0], fds[1]);
	close(fds[0]);
	close(fds[1]);
	r = SC(SYS_pipe2, fds, O_CLOEXEC | O_NONBLOCK);
	need(r == 0, "pipe2");
	EXPECT("pipe2", "pipe2", "res=0" T "fd1=%d" T "fd2=%d" T "flags=%d",
	       fds[0], fds[1], O_CLOEXEC | O_NONBLOCK);
	close(fds[0]);
	close(fds[1]);
	r = SC(SYS_pipe2, fds, 0x7fff0000);
	EXPECT("pipe2 bad flags", "pipe2",
	       "res=%ld" T "flags=%d" T "fd1@faulted" T "fd1=null", r,
	       0x7fff0000);

	/* memfd_create */
	r = SC(SYS_memfd_create, "kestrel-memfd", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	need(r >= 0, "memfd_create");
	EXPECT("memfd_create", "memfd_create",
	       "res=%ld" T "name=\"kestrel-memfd\"" T "flags=%d", r,
	       MFD_CLOEXEC | MFD_ALLOW_SEALING);
	close((int)r);
}

static void test_path_calls(void)
{
	char a[256], b[256], c[256], d[256], dir[256], sub[256], lnk[256];
	long r, dfd;

	path_in(a, sizeof(a), "file-a");
	path_in(b, sizeof(b), "file-b");
	path_in(c, sizeof(c), "file-c");
	path_in(d, sizeof(d), "file-d");
	path_in(dir, sizeof(dir), "dir1");
	path_in(sub, sizeof(sub), "dir1/sub");
	path_in(lnk, sizeof(lnk), "link-1");
	r = SC(SYS_openat, AT_FDCWD, a, O_CREAT | O_WRONLY, 0644);
	need(r >= 0, "create file-a");
	close((int)r);
	dfd = SC(SYS_openat, AT_FDCWD, workdir, O_RDONLY | O_DIRECTORY, 0);
	need(dfd >= 0, "open workdir");

	/* mkdir family */
	r = SC(SYS_mkdir, dir, 0755);
	need(r == 0, "mkdir");
	EXPECT("mkdir", "mkdir", "res=0" T "path=" Q T "mode=%d", dir, 0755);
	r = SC(SYS_mkdir, dir, 0755);
	need(r == -EEXIST, "mkdir of an existing dir fails with EEXIST");
	EXPECT("mkdir exists", "mkdir", "res=%ld" T "path=" Q, r, dir);
	r = SC(SYS_mkdirat, dfd, "dir1/sub", 0700);
	need(r == 0, "mkdirat");
	EXPECT("mkdirat", "mkdirat",
	       "res=0" T "dirfd=%ld" T "path=\"dir1/sub\"" T "mode=%d", dfd, 0700);
	r = SC(SYS_rmdir, sub);
	need(r == 0, "rmdir");
	EXPECT("rmdir", "rmdir", "res=0" T "path=" Q, sub);
	r = SC(SYS_rmdir, sub);
	EXPECT("rmdir missing", "rmdir", "res=%ld" T "path=" Q, r, sub);

	/* rename family */
	r = SC(SYS_rename, a, b);
	need(r == 0, "rename");
	EXPECT("rename", "rename", "res=0" T "oldpath=" Q T "newpath=" Q, a, b);
	r = SC(SYS_rename, a, b);
	need(r == -ENOENT, "rename of a missing file fails with ENOENT");
	EXPECT("rename missing", "rename", "res=%ld" T "oldpath=" Q, r, a);
	r = SC(SYS_renameat, dfd, "file-b", AT_FDCWD, c);
	need(r == 0, "renameat");
	EXPECT("renameat", "renameat",
	       "res=0" T "olddirfd=%ld" T "oldpath=\"file-b\"" T "newdirfd=%d" T
	       "newpath=" Q, dfd, AT_FDCWD, c);
	r = SC(SYS_renameat2, AT_FDCWD, c, dfd, "file-d", RENAME_NOREPLACE);
	need(r == 0, "renameat2");
	EXPECT("renameat2", "renameat2",
	       "res=0" T "olddirfd=%d" T "oldpath=" Q T "newdirfd=%ld" T
	       "newpath=\"file-d\"" T "flags=%d", AT_FDCWD, c, dfd,
	       RENAME_NOREPLACE);

	/* link family (file-d exists now) */
	r = SC(SYS_link, d, a);
	need(r == 0, "link");
	EXPECT("link", "link", "res=0" T "oldpath=" Q T "newpath=" Q, d, a);
	r = SC(SYS_linkat, dfd, "file-d", dfd, "file-b", 0);
	need(r == 0, "linkat");
	EXPECT("linkat", "linkat",
	       "res=0" T "olddir=%ld" T "oldpath=\"file-d\"" T "newdir=%ld" T
	       "newpath=\"file-b\"" T "flags=0", dfd, dfd);
	r = SC(SYS_link, d, a);
	EXPECT("link exists", "link", "res=%ld" T "newpath=" Q, r, a);
	r = SC(SYS_symlink, "file-d", lnk);
	need(r == 0, "symlink");
	EXPECT("symlink", "symlink",
	       "res=0" T "target=\"file-d\"" T "linkpath=" Q, lnk);
	r = SC(SYS_symlinkat, "/etc/hostname", dfd, "link-2");
	need(r == 0, "symlinkat");
	EXPECT("symlinkat", "symlinkat",
	       "res=0" T "target=\"/etc/hostname\"" T "linkdirfd=%ld" T
	       "linkpath=\"link-2\"", dfd);

	/* chmod family */
	r = SC(SYS_chmod, d, 0600);
	need(r == 0, "chmod");
	EXPECT("chmod", "chmod", "res=0" T "filename=" Q T "mode=%d", d, 0600);
	r = SC(SYS_chmod, "/nonexistent/kestrel-chmod", 0600);
	EXPECT("chmod missing", "chmod",
	       "res=%ld" T "filename=\"/nonexistent/kestrel-chmod\"", r);
	r = SC(SYS_openat, AT_FDCWD, d, O_RDONLY, 0);
	need(r >= 0, "open file-d");
	{
		long fd = r;

		r = SC(SYS_fchmod, fd, 0644);
		need(r == 0, "fchmod");
		EXPECT("fchmod", "fchmod", "res=0" T "fd=%ld" T "mode=%d", fd,
		       0644);
		r = SC(SYS_fchown, fd, 3, 4);
		need(r == 0, "fchown");
		EXPECT("fchown", "fchown", "res=0" T "fd=%ld" T "uid=3" T "gid=4",
		       fd);
		close((int)fd);
	}
	r = SC(SYS_fchmodat, dfd, "file-d", 0640, 0);
	need(r == 0, "fchmodat");
	EXPECT("fchmodat", "fchmodat",
	       "res=0" T "dirfd=%ld" T "filename=\"file-d\"" T "mode=%d", dfd,
	       0640);

	/* chown family */
	r = SC(SYS_chown, d, 1, 2);
	need(r == 0, "chown");
	EXPECT("chown", "chown", "res=0" T "path=" Q T "uid=1" T "gid=2", d);
	r = SC(SYS_lchown, lnk, 5, 6);
	need(r == 0, "lchown");
	EXPECT("lchown", "lchown", "res=0" T "path=" Q T "uid=5" T "gid=6", lnk);
	r = SC(SYS_fchownat, dfd, "link-2", 7, 8, AT_SYMLINK_NOFOLLOW);
	need(r == 0, "fchownat");
	EXPECT("fchownat", "fchownat",
	       "res=0" T "dirfd=%ld" T "pathname=\"link-2\"" T "uid=7" T "gid=8"
	       T "flags=%d", dfd, AT_SYMLINK_NOFOLLOW);

	/* unlink family */
	r = SC(SYS_unlink, a);
	need(r == 0, "unlink");
	EXPECT("unlink", "unlink", "res=0" T "path=" Q, a);
	r = SC(SYS_unlink, a);
	need(r == -ENOENT, "unlink of a missing file fails with ENOENT");
	EXPECT("unlink missing", "unlink", "res=%ld" T "path=" Q, r, a);
	r = SC(SYS_unlinkat, dfd, "link-2", 0);
	need(r == 0, "unlinkat");
	EXPECT("unlinkat", "unlinkat",
	       "res=0" T "dirfd=%ld" T "name=\"link-2\"" T "flags=0", dfd);
	r = SC(SYS_unlinkat, dfd, "dir1", AT_REMOVEDIR);
	need(r == 0, "unlinkat AT_REMOVEDIR");
	EXPECT("unlinkat dir", "unlinkat",
	       "res=0" T "dirfd=%ld" T "name=\"dir1\"" T "flags=%d", dfd,
	       AT_REMOVEDIR);
	close((int)dfd);
}

static void test_mount(void)
{
	char mnt[256];
	long r;

	path_in(mnt, sizeof(mnt), "mnt");
	need(mkdir(mnt, 0755) == 0, "mkdir mnt");
	r = SC(SYS_mount, "kestrel-tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV,
	       "size=1m");
	need(r == 0, "mount tmpfs");
	EXPECT("mount tmpfs", "mount",
	       "res=0" T "dev=\"kestrel-tmpfs\"" T "dir=" Q T "type=\"tmpfs\""
	       T "flags=%d", mnt, MS_NOSUID | MS_NODEV);
	r = SC(SYS_mount, "none", mnt, "kestrel-nofs", 0, NULL);
	need(r == -ENODEV, "mount of an unknown fstype fails with ENODEV");
	EXPECT("mount bad fstype", "mount",
	       "res=%ld" T "dev=\"none\"" T "dir=" Q T "type=\"kestrel-nofs\"",
	       r, mnt);
	r = SC(SYS_umount2, mnt, MNT_DETACH);
	need(r == 0, "umount2");
	EXPECT("umount2", "umount2", "res=0" T "name=" Q T "flags=%d", mnt,
	       MNT_DETACH);
	r = SC(SYS_umount2, mnt, 0);
	need(r == -EINVAL, "umount2 of a non-mountpoint fails with EINVAL");
	EXPECT("umount2 not mounted", "umount2", "res=%ld" T "name=" Q, r, mnt);
	rmdir(mnt);
}

/* ---------------------------------------------------------------------- */
/* Network                                                                 */

#define TCP_PORT 47123
#define UDP_PORT 47126

static void test_inet(void)
{
	struct sockaddr_in sa = sin_of("127.0.0.1", TCP_PORT);
	struct sockaddr_in dead = sin_of("127.0.0.1", TCP_PORT + 1);
	struct sockaddr_in peer;
	socklen_t plen;
	char addr[128], tuple[160];
	long ls, cs, as, r;
	int one = 1, cport;

	ls = SC(SYS_socket, AF_INET, SOCK_STREAM, 0);
	need(ls >= 0, "socket AF_INET");
	EXPECT("socket AF_INET stream", "socket",
	       "res=%ld" T "domain=%d" T "type=%d" T "proto=0", ls, AF_INET,
	       SOCK_STREAM);
	need(setsockopt((int)ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0,
	     "SO_REUSEADDR");
	r = SC(SYS_bind, ls, &sa, sizeof(sa));
	need(r == 0, "bind 127.0.0.1");
	fmt_in(addr, sizeof(addr), "127.0.0.1", TCP_PORT);
	EXPECT("bind AF_INET", "bind", "res=0" T "fd=%ld" T "addr=" Q, ls, addr);
	r = SC(SYS_listen, ls, 7);
	need(r == 0, "listen");
	EXPECT("listen", "listen", "res=0" T "fd=%ld" T "backlog=7", ls);

	cs = SC(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	need(cs >= 0, "socket client");
	EXPECT("socket with flags", "socket",
	       "res=%ld" T "domain=%d" T "type=%d" T "proto=%d", cs, AF_INET,
	       SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	r = SC(SYS_connect, cs, &sa, sizeof(sa));
	need(r == 0, "connect 127.0.0.1");
	cport = local_port((int)cs);
	fmt_tuple(tuple, sizeof(tuple), "127.0.0.1", cport, "127.0.0.1",
		  TCP_PORT);
	EXPECT("connect AF_INET", "connect",
	       "res=0" T "fd=%ld" T "addr=" Q T "tuple=" Q, cs, addr, tuple);

	plen = sizeof(peer);
	as = SC(SYS_accept, ls, &peer, &plen);
	need(as >= 0, "accept");
	need(ntohs(peer.sin_port) == cport, "accept sees the client's port");
	/* accept's tuple is the new socket's: local (server) -> remote. */
	fmt_tuple(tuple, sizeof(tuple), "127.0.0.1", TCP_PORT, "127.0.0.1",
		  cport);
	EXPECT("accept", "accept", "res=%ld" T "fd=%ld" T "tuple=" Q, as, ls,
	       tuple);
	close((int)as);
	close((int)cs);

	/* accept4 with flags, on a second connection. */
	cs = SC(SYS_socket, AF_INET, SOCK_STREAM, 0);
	need(cs >= 0, "socket client 2");
	need(SC(SYS_connect, cs, &sa, sizeof(sa)) == 0, "connect 2");
	cport = local_port((int)cs);
	fmt_tuple(tuple, sizeof(tuple), "127.0.0.1", TCP_PORT, "127.0.0.1",
		  cport);
	as = SC(SYS_accept4, ls, NULL, NULL, SOCK_CLOEXEC);
	need(as >= 0, "accept4");
	EXPECT("accept4", "accept4",
	       "res=%ld" T "fd=%ld" T "tuple=" Q T "flags=%d", as, ls, tuple,
	       SOCK_CLOEXEC);
	close((int)as);
	close((int)cs);
	r = SC(SYS_accept4, 9999, NULL, NULL, 0);
	EXPECT("accept4 bad fd", "accept4",
	       "res=%ld" T "fd=9999" T "tuple@faulted" T "tuple=null", r);
	close((int)ls);

	/* connect refused */
	cs = SC(SYS_socket, AF_INET, SOCK_STREAM, 0);
	need(cs >= 0, "socket client 3");
	r = SC(SYS_connect, cs, &dead, sizeof(dead));
	need(r == -ECONNREFUSED, "connect to a closed port is refused");
	fmt_in(addr, sizeof(addr), "127.0.0.1", TCP_PORT + 1);
	EXPECT("connect refused", "connect",
	       "res=%ld" T "fd=%ld" T "addr=" Q, r, cs, addr);
	close((int)cs);
	/* connect with a bad pointer: the address could not be read. */
	cs = SC(SYS_socket, AF_INET, SOCK_STREAM, 0);
	r = SC(SYS_connect, cs, (void *)1, sizeof(dead));
	need(r == -EFAULT, "connect with a bad pointer fails with EFAULT");
	EXPECT("connect bad pointer", "connect",
	       "res=%ld" T "fd=%ld" T "addr@faulted" T "addr=null" T
	       "tuple=\"0.0.0.0:0->0.0.0.0:0\"", r, cs);
	close((int)cs);
}

static void test_udp(void)
{
	struct sockaddr_in ra = sin_of("127.0.0.1", UDP_PORT);
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	char addr[128], tuple[160], buf[64];
	long rs, ss, r;
	int sport;

	rs = SC(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	need(rs >= 0, "socket udp");
	EXPECT("socket AF_INET dgram", "socket",
	       "res=%ld" T "domain=%d" T "type=%d", rs, AF_INET, SOCK_DGRAM);
	need(SC(SYS_bind, rs, &ra, sizeof(ra)) == 0, "bind udp");
	ss = SC(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	need(ss >= 0, "socket udp sender");
	r = SC(SYS_sendto, ss, "kestrel", 7, 0, &ra, sizeof(ra));
	need(r == 7, "sendto");
	sport = local_port((int)ss);
	fmt_in(addr, sizeof(addr), "127.0.0.1", UDP_PORT);
	/* An unconnected sender: bound to the wildcard address, no peer. */
	fmt_tuple(tuple, sizeof(tuple), "0.0.0.0", sport, "0.0.0.0", 0);
	EXPECT("sendto AF_INET", "sendto",
	       "res=7" T "fd=%ld" T "size=7" T "addr=" Q T "tuple=" Q, ss, addr,
	       tuple);
	r = SC(SYS_recvfrom, rs, buf, sizeof(buf), 0, &from, &flen);
	need(r == 7, "recvfrom");
	fmt_in(addr, sizeof(addr), "127.0.0.1", sport);
	fmt_tuple(tuple, sizeof(tuple), "127.0.0.1", UDP_PORT, "0.0.0.0", 0);
	EXPECT("recvfrom AF_INET", "recvfrom",
	       "res=7" T "fd=%ld" T "size=%zu" T "addr=" Q T "tuple=" Q, rs,
	       sizeof(buf), addr, tuple);
	r = SC(SYS_recvfrom, rs, buf, sizeof(buf), MSG_DONTWAIT, &from, &flen);
	need(r == -EAGAIN, "recvfrom with nothing queued fails with EAGAIN");
	EXPECT("recvfrom empty", "recvfrom",
	       "res=%ld" T "fd=%ld" T "addr@faulted" T "addr=null", r, rs);
	close((int)rs);
	close((int)ss);
}

static void test_inet6(void)
{
	struct sockaddr_in6 sa6;
	char addr[128], tuple[160];
	long s, r;

	s = SC(SYS_socket, AF_INET6, SOCK_DGRAM, 0);
	if (s == -EAFNOSUPPORT) {
		fprintf(stderr, "note: no IPv6 in this kernel: AF_INET6 skipped\n");
		return;
	}
	need(s >= 0, "socket AF_INET6");
	EXPECT("socket AF_INET6", "socket",
	       "res=%ld" T "domain=%d" T "type=%d", s, AF_INET6, SOCK_DGRAM);
	memset(&sa6, 0, sizeof(sa6));
	sa6.sin6_family = AF_INET6;
	sa6.sin6_port = htons(47127);
	need(inet_pton(AF_INET6, "::1", &sa6.sin6_addr) == 1, "inet_pton ::1");
	/* Whatever the guest's IPv6 loopback allows; the address is decoded. */
	r = SC(SYS_connect, s, &sa6, sizeof(sa6));
	fmt_in(addr, sizeof(addr), "::1", 47127);
	EXPECT("connect AF_INET6", "connect",
	       "res=%ld" T "fd=%ld" T "addr=" Q, r, s, addr);
	if (r == 0) {
		fmt_tuple(tuple, sizeof(tuple), "::1", local_port((int)s), "::1",
			  47127);
		EXPECT("connect AF_INET6 tuple", "connect",
		       "res=0" T "fd=%ld" T "tuple=" Q, s, tuple);
	}
	inet_pton(AF_INET6, "2001:db8::5", &sa6.sin6_addr);
	sa6.sin6_port = htons(4444);
	r = SC(SYS_sendto, s, "x", 1, 0, &sa6, sizeof(sa6));
	fmt_in(addr, sizeof(addr), "2001:db8::5", 4444);
	EXPECT("sendto AF_INET6", "sendto", "res=%ld" T "fd=%ld" T "addr=" Q, r,
	       s, addr);
	close((int)s);
}

static void test_unix(void)
{
	struct sockaddr_un su;
	char path[256];
	long ls, cs, r;
	int sv[2];

	path_in(path, sizeof(path), "kestrel.sock");
	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	need(strlen(path) < sizeof(su.sun_path), "socket path fits sun_path");
	memcpy(su.sun_path, path, strlen(path) + 1);
	ls = SC(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	need(ls >= 0, "socket AF_UNIX");
	EXPECT("socket AF_UNIX", "socket",
	       "res=%ld" T "domain=%d" T "type=%d", ls, AF_UNIX, SOCK_STREAM);
	r = SC(SYS_bind, ls, &su, sizeof(su));
	need(r == 0, "bind AF_UNIX");
	EXPECT("bind AF_UNIX", "bind", "res=0" T "fd=%ld" T "addr=" Q, ls, path);
	need(SC(SYS_listen, ls, 1) == 0, "listen AF_UNIX");
	cs = SC(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	need(cs >= 0, "socket AF_UNIX client");
	r = SC(SYS_connect, cs, &su, sizeof(su));
	need(r == 0, "connect AF_UNIX");
	/* The client is not bound: its tuple is the peer's path. */
	EXPECT("connect AF_UNIX", "connect",
	       "res=0" T "fd=%ld" T "addr=" Q T "tuple=" Q, cs, path, path);
	close((int)cs);
	close((int)ls);
	unlink(path);

	r = SC(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv);
	need(r == 0, "socketpair");
	EXPECT("socketpair", "socketpair",
	       "res=0" T "domain=%d" T "type=%d" T "proto=0" T "fd1=%d" T
	       "fd2=%d", AF_UNIX, SOCK_STREAM, sv[0], sv[1]);
	close(sv[0]);
	close(sv[1]);
	r = SC(SYS_socketpair, AF_INET, SOCK_STREAM, 0, sv);
	need(r < 0, "socketpair AF_INET fails");
	EXPECT("socketpair AF_INET fails", "socketpair",
	       "res=%ld" T "domain=%d" T "fd1@faulted" T "fd2@faulted", r,
	       AF_INET);
}

/* ---------------------------------------------------------------------- */
/* Processes                                                               */

static char *const exec_argv[] = { "kestrel-syscall-test", "noop",
				   "second-arg", NULL };
static char *const exec_envp[] = { "KESTREL_ENV=marker", "SECOND=2", NULL };

/*
 * Reads every byte of an exec's path, argv and envp.  The module reads user
 * memory without faulting pages in (it cannot sleep), and a forked child
 * that has not touched a string in a file-backed page (a literal, say) has
 * no mapping for it yet: at syscall entry the string would be unreadable
 * (recorded as faulted).  Touching them first makes the entry event's
 * values deterministic; the bad-pointer cases test faults on purpose.
 */
static volatile unsigned char touch_sink;

static void touch_exec_args(const char *path, char *const argv[],
			    char *const envp[])
{
	unsigned char sum = 0;
	char *const *v;
	const char *c;

	for (c = path; c && (unsigned long)c > 4096 && *c; c++)
		sum += (unsigned char)*c;
	for (v = argv; *v; v++)
		for (c = *v; *c; c++)
			sum += (unsigned char)*c;
	for (v = envp; *v; v++)
		for (c = *v; *c; c++)
			sum += (unsigned char)*c;
	touch_sink = sum;
}

static long read_long_file(const char *path, long dflt)
{
	char buf[64];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return dflt;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return dflt;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

/* The cgroup v2 path from /proc/self/cgroup ("0::PATH"), or "/". */
static void cgroup_path(char *buf, size_t n)
{
	char data[4096], *line;
	int fd = open("/proc/self/cgroup", O_RDONLY);
	ssize_t len;

	snprintf(buf, n, "/");
	if (fd < 0)
		return;
	len = read(fd, data, sizeof(data) - 1);
	close(fd);
	if (len <= 0)
		return;
	data[len] = 0;
	for (line = strtok(data, "\n"); line; line = strtok(NULL, "\n"))
		if (strncmp(line, "0::", 3) == 0)
			snprintf(buf, n, "%s", line + 3);
}

/* tty_nr from /proc/self/stat (field 7). */
static long tty_nr(void)
{
	char buf[1024], *p;
	int fd = open("/proc/self/stat", O_RDONLY);
	ssize_t n;
	long v;

	need(fd >= 0, "open /proc/self/stat");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	need(n > 0, "read /proc/self/stat");
	buf[n] = 0;
	p = strrchr(buf, ')');
	need(p != NULL, "parse /proc/self/stat");
	/* ") S ppid pgrp session tty_nr" */
	need(sscanf(p + 2, "%*c %*d %*d %*d %ld", &v) == 1, "parse tty_nr");
	return v;
}

static void test_exec(void)
{
	struct stat ns;
	pid_t p;
	int st, dfd;
	long loginuid;
	const char *base;
	char cgroup[256], cgroup_field[300];

	need(chdir(workdir) == 0, "chdir workdir");
	need(stat("/proc/self/ns/pid", &ns) == 0, "stat /proc/self/ns/pid");
	loginuid = read_long_file("/proc/self/loginuid", -2);
	cgroup_path(cgroup, sizeof(cgroup));
	/*
	 * Every kernel records the exec's cgroup path (on PREEMPT_RT the
	 * module walks kernfs names under RCU instead of cgroup_path()).
	 */
	snprintf(cgroup_field, sizeof(cgroup_field), "cgroups=\"%s\"",
		 cgroup);

	/* execve that succeeds: the new image is this program (a regular
	 * file, so the kernel's exe path is its own name). */
	p = fork();
	need(p >= 0, "fork for execve");
	if (p == 0) {
		touch_exec_args(self, exec_argv, exec_envp);
		syscall(SYS_execve, self, exec_argv, exec_envp);
		_exit(99);
	}
	wait_child(p, &st);
	need(WIFEXITED(st) && WEXITSTATUS(st) == 0, "execve'd child exits 0");
	EXPECT_TID(p, "execve enter", "execve", ">",
		   "filename=" Q T
		   "args=[\"kestrel-syscall-test\",\"noop\",\"second-arg\"]",
		   self);
	EXPECT_TID(p, "execve exit", "execve", "<",
		   "res=0" T "exe=" Q T
		   "args=[\"kestrel-syscall-test\",\"noop\",\"second-arg\"]" T
		   "env=[\"KESTREL_ENV=marker\",\"SECOND=2\"]" T "cwd=" Q T
		   "uid=%d" T "gid=%d" T "euid=%d" T "egid=%d" T "pidns=%lu" T
		   "vpid=%d" T "vtid=%d" T "ptid=%d" T "tty=%ld" T
		   "comm=\"kestrel-syscall\"" T "%s",
		   self, workdir, getuid(), getgid(), geteuid(), getegid(),
		   (unsigned long)ns.st_ino, p, p, tid(), tty_nr(), cgroup_field);
	if (loginuid != -2)
		EXPECT_TID(p, "execve exit loginuid", "execve", "<",
			   "res=0" T "loginuid=%ld", loginuid);
	EXPECT_PROC(p, "procexec", "procexec",
		   "filename=" Q T "old_tid=%d", self, p);

	/* execve that fails: -ENOENT, visible at entry and exit. */
	p = fork();
	need(p >= 0, "fork for failing execve");
	if (p == 0) {
		long r;

		touch_exec_args("/nonexistent/kestrel-exec", exec_argv, exec_envp);
		r = SC(SYS_execve, "/nonexistent/kestrel-exec", exec_argv,
		       exec_envp);
		_exit(r == -ENOENT ? 0 : 98);
	}
	wait_child(p, &st);
	need(WIFEXITED(st) && WEXITSTATUS(st) == 0, "failing execve gives ENOENT");
	EXPECT_TID(p, "execve enter (fails)", "execve", ">",
		   "filename=\"/nonexistent/kestrel-exec\"" T
		   "args=[\"kestrel-syscall-test\",\"noop\",\"second-arg\"]");
	/* On failure exe, args and env are the caller's arguments. */
	EXPECT_TID(p, "execve exit ENOENT", "execve", "<",
		   "res=%d" T "exe=\"/nonexistent/kestrel-exec\"" T
		   "args=[\"kestrel-syscall-test\",\"noop\",\"second-arg\"]" T
		   "env=[\"KESTREL_ENV=marker\",\"SECOND=2\"]" T "cwd=" Q T
		   "vpid=%d" T "ptid=%d", -ENOENT, workdir, p, tid());

	/* execve with a bad filename pointer. */
	p = fork();
	need(p >= 0, "fork for execve EFAULT");
	if (p == 0) {
		long r;

		touch_exec_args(NULL, exec_argv, exec_envp);
		r = SC(SYS_execve, (char *)1, exec_argv, exec_envp);

		_exit(r == -EFAULT ? 0 : 97);
	}
	wait_child(p, &st);
	need(WIFEXITED(st) && WEXITSTATUS(st) == 0, "execve of a bad pointer gives EFAULT");
	EXPECT_TID(p, "execve enter bad pointer", "execve", ">",
		   "filename@faulted" T "filename=null");
	EXPECT_TID(p, "execve exit EFAULT", "execve", "<",
		   "res=%d" T "exe@faulted" T "exe=null" T
		   "args=[\"kestrel-syscall-test\",\"noop\",\"second-arg\"]",
		   -EFAULT);

	/* execveat relative to a directory fd. */
	{
		char dir[sizeof(self)];
		char *slash;

		memcpy(dir, self, sizeof(dir));
		slash = strrchr(dir, '/');
		need(slash != NULL, "self has a directory");
		*slash = 0;
		base = slash + 1 - dir + self;
		dfd = open(dir, O_RDONLY | O_DIRECTORY);
		need(dfd >= 0, "open the program's directory");
	}
	p = fork();
	need(p >= 0, "fork for execveat");
	if (p == 0) {
		touch_exec_args(base, exec_argv, exec_envp);
		syscall(SYS_execveat, dfd, base, exec_argv, exec_envp, 0);
		_exit(99);
	}
	wait_child(p, &st);
	need(WIFEXITED(st) && WEXITSTATUS(st) == 0, "execveat'd child exits 0");
	EXPECT_TID(p, "execveat enter", "execveat", ">",
		   "dirfd=%d" T "pathname=" Q T "flags=0" T
		   "args=[\"kestrel-syscall-test\",\"noop\",\"second-arg\"]",
		   dfd, base);
	/*
	 * A successful execveat's exit is seen by the exit tracepoint with
	 * execve's syscall number (x86_64: the new image's registers), so it
	 * is an execve exit event describing the new image (as in Falco).
	 */
	EXPECT_TID(p, "execveat exit (as execve)", "execve", "<",
		   "res=0" T "exe=" Q T
		   "args=[\"kestrel-syscall-test\",\"noop\",\"second-arg\"]" T
		   "env=[\"KESTREL_ENV=marker\",\"SECOND=2\"]" T "cwd=" Q T
		   "uid=%d" T "vpid=%d" T "ptid=%d" T "comm=\"kestrel-syscall\"",
		   self, workdir, getuid(), p, tid());
	p = fork();
	need(p >= 0, "fork for failing execveat");
	if (p == 0) {
		long r;

		touch_exec_args("kestrel-missing", exec_argv, exec_envp);
		r = SC(SYS_execveat, dfd, "kestrel-missing", exec_argv,
		       exec_envp, AT_SYMLINK_NOFOLLOW);

		_exit(r == -ENOENT ? 0 : 98);
	}
	wait_child(p, &st);
	need(WIFEXITED(st) && WEXITSTATUS(st) == 0, "failing execveat gives ENOENT");
	EXPECT_TID(p, "execveat enter (fails)", "execveat", ">",
		   "dirfd=%d" T "pathname=\"kestrel-missing\"" T "flags=%d", dfd,
		   AT_SYMLINK_NOFOLLOW);
	EXPECT_TID(p, "execveat exit ENOENT", "execveat", "<",
		   "res=%d" T "exe=\"kestrel-missing\"" T
		   "env=[\"KESTREL_ENV=marker\",\"SECOND=2\"]", -ENOENT);
	close(dfd);
}

static void test_clone_family(void)
{
	struct clone_args ca;
	long r;
	int st;
	pid_t me = tid();

	/* clone with flags (raw: glibc's fork uses clone without these). */
	r = SC(SYS_clone, CLONE_FS | CLONE_IO | SIGCHLD, 0, 0, 0, 0);
	need(r >= 0, "clone");
	if (r == 0)
		_exit(3);
	wait_child((pid_t)r, &st);
	EXPECT("clone parent", "clone", "res=%ld" T "flags=%lu", r,
	       (unsigned long)(CLONE_FS | CLONE_IO | SIGCHLD));
	EXPECT_TID((pid_t)r, "clone child", "clone", "<", "res=0" T "flags=%lu",
		   (unsigned long)(CLONE_FS | CLONE_IO | SIGCHLD));
	EXPECT_PROC(me, "procfork of clone", "procfork",
		   "child_tid=%ld" T "child_pid=%ld", r, r);
	EXPECT_PROC((pid_t)r, "procexit of clone child", "procexit",
		   "status=%d", st);

	/* clone3 */
	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_FS;
	ca.exit_signal = SIGCHLD;
	r = SC(SYS_clone3, &ca, sizeof(ca));
	need(r >= 0, "clone3");
	if (r == 0)
		_exit(0);
	wait_child((pid_t)r, &st);
	EXPECT("clone3 parent", "clone3", "res=%ld" T "flags=%d", r, CLONE_FS);
	EXPECT_TID((pid_t)r, "clone3 child", "clone3", "<", "res=0" T "flags=%d",
		   CLONE_FS);
	r = SC(SYS_clone3, &ca, 8);	/* too small a struct */
	need(r == -EINVAL, "clone3 with a short struct fails with EINVAL");
	EXPECT("clone3 EINVAL", "clone3", "res=%ld", r);

	/* fork (raw) */
	r = SC(SYS_fork);
	need(r >= 0, "fork");
	if (r == 0)
		_exit(0);
	wait_child((pid_t)r, &st);
	EXPECT("fork parent", "fork", "res=%ld", r);
	EXPECT_TID((pid_t)r, "fork child", "fork", "<", "res=0");

	/* vfork (glibc's wrapper makes the vfork syscall and handles the
	 * shared stack; raw syscall(SYS_vfork) cannot). */
	r = vfork();
	need(r >= 0, "vfork");
	if (r == 0)
		_exit(5);
	wait_child((pid_t)r, &st);
	need(WIFEXITED(st) && WEXITSTATUS(st) == 5, "vfork child exits 5");
	EXPECT("vfork parent", "vfork", "res=%ld", r);
	EXPECT_TID((pid_t)r, "vfork child", "vfork", "<", "res=0");
	EXPECT_PROC((pid_t)r, "procexit of vfork child", "procexit",
		   "status=%d", st);
}

static void sleeper(void)
{
	for (;;)
		pause();
}

static void test_signals_ptrace(void)
{
	pid_t p;
	long r;
	int st;

	r = SC(SYS_kill, getpid(), 0);
	need(r == 0, "kill self 0");
	EXPECT("kill self sig 0", "kill", "res=0" T "pid=%d" T "sig=0", getpid());
	r = SC(SYS_kill, 999999, SIGTERM);
	need(r == -ESRCH, "kill of a missing pid fails with ESRCH");
	EXPECT("kill missing pid", "kill", "res=%ld" T "pid=999999" T "sig=%d",
	       r, SIGTERM);
	r = SC(SYS_tkill, tid(), 0);
	need(r == 0, "tkill");
	EXPECT("tkill", "tkill", "res=0" T "tid=%d" T "sig=0", tid());
	r = SC(SYS_tgkill, getpid(), tid(), 0);
	need(r == 0, "tgkill");
	EXPECT("tgkill", "tgkill", "res=0" T "pid=%d" T "tid=%d" T "sig=0",
	       getpid(), tid());
	r = SC(SYS_tgkill, getpid(), 999999, SIGUSR1);
	need(r == -ESRCH, "tgkill of a missing tid fails with ESRCH");
	EXPECT("tgkill missing tid", "tgkill", "res=%ld" T "sig=%d", r, SIGUSR1);

	/* ptrace: attach to a child, detach, kill it. */
	p = fork();
	need(p >= 0, "fork sleeper");
	if (p == 0)
		sleeper();
	r = SC(SYS_ptrace, PTRACE_ATTACH, p, 0, 0);
	need(r == 0, "ptrace attach");
	EXPECT("ptrace attach", "ptrace",
	       "res=0" T "request=%d" T "pid=%d" T "addr=0" T "data=0",
	       PTRACE_ATTACH, p);
	need(waitpid(p, &st, __WALL) == p && WIFSTOPPED(st), "tracee stops");
	r = SC(SYS_ptrace, PTRACE_DETACH, p, 0, 0);
	need(r == 0, "ptrace detach");
	EXPECT("ptrace detach", "ptrace", "res=0" T "request=%d" T "pid=%d",
	       PTRACE_DETACH, p);
	r = SC(SYS_kill, p, SIGKILL);
	need(r == 0, "kill child");
	EXPECT("kill child", "kill", "res=0" T "pid=%d" T "sig=%d", p, SIGKILL);
	wait_child(p, &st);
	need(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child killed");
	EXPECT_PROC(p, "procexit of killed child", "procexit", "status=%d",
		   st);
	r = SC(SYS_ptrace, PTRACE_ATTACH, 999999, 0, 0);
	need(r == -ESRCH, "ptrace of a missing pid fails with ESRCH");
	EXPECT("ptrace missing pid", "ptrace",
	       "res=%ld" T "request=%d" T "pid=999999", r, PTRACE_ATTACH);
}

static void prctl_child(void)
{
	static const char name[] = "kestrel-prctl";
	long r = SC(SYS_prctl, PR_SET_NAME, name, 0, 0, 0);

	need(r == 0, "prctl PR_SET_NAME");
	EXPECT("prctl PR_SET_NAME", "prctl",
	       "res=0" T "option=%d" T "arg2=%lu" T "arg3=0", PR_SET_NAME,
	       (unsigned long)name);
	r = SC(SYS_prctl, 0x7fffffff, 0, 0, 0, 0);
	EXPECT("prctl bad option", "prctl", "res=%ld" T "option=%d", r,
	       0x7fffffff);
}

/* In a child: root's set*id calls succeed with visible values; then, with
 * the ids dropped, the privileged ones fail. */
static void setid_child(void)
{
	long r;

	r = SC(SYS_setuid, 0);
	need(r == 0, "setuid 0 as root");
	EXPECT("setuid root", "setuid", "res=0" T "uid=0");
	r = SC(SYS_setgid, 0);
	need(r == 0, "setgid 0 as root");
	EXPECT("setgid root", "setgid", "res=0" T "gid=0");
	r = SC(SYS_setreuid, 0, 0);
	need(r == 0, "setreuid");
	EXPECT("setreuid", "setreuid", "res=0" T "ruid=0" T "euid=0");
	r = SC(SYS_setregid, 0, 0);
	need(r == 0, "setregid");
	EXPECT("setregid", "setregid", "res=0" T "rgid=0" T "egid=0");
	r = SC(SYS_setfsuid, 0);
	EXPECT("setfsuid", "setfsuid", "res=%ld" T "uid=0", r);
	r = SC(SYS_setfsgid, 0);
	EXPECT("setfsgid", "setfsgid", "res=%ld" T "gid=0", r);
	r = SC(SYS_setresgid, 1000, 1001, 1002);
	need(r == 0, "setresgid");
	EXPECT("setresgid", "setresgid",
	       "res=0" T "rgid=1000" T "egid=1001" T "sgid=1002");
	r = SC(SYS_setresuid, 1000, 1001, 1002);
	need(r == 0, "setresuid");
	EXPECT("setresuid", "setresuid",
	       "res=0" T "ruid=1000" T "euid=1001" T "suid=1002");
	r = SC(SYS_setuid, 0);
	need(r == -EPERM, "setuid 0 after dropping root fails with EPERM");
	EXPECT("setuid not permitted", "setuid", "res=%ld" T "uid=0", r);
	r = SC(SYS_setgid, 0);
	need(r == -EPERM, "setgid 0 after dropping root fails with EPERM");
	EXPECT("setgid not permitted", "setgid", "res=%ld" T "gid=0", r);
	r = SC(SYS_setfsuid, 0);	/* fails silently: returns the old fsuid */
	EXPECT("setfsuid not permitted", "setfsuid", "res=%ld" T "uid=0", r);
	r = SC(SYS_setresuid, 0, 0, 0);
	need(r == -EPERM, "setresuid 0 after dropping root fails with EPERM");
	EXPECT("setresuid not permitted", "setresuid",
	       "res=%ld" T "ruid=0" T "euid=0" T "suid=0", r);
}

static void capset_child(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	long r;
	unsigned long long eff, perm, inh;

	need(SC(SYS_capget, &h, d) == 0, "capget");
	/* Drop CAP_SYS_BOOT from the permitted and effective sets. */
	d[0].effective &= ~(1u << CAP_SYS_BOOT);
	d[0].permitted &= ~(1u << CAP_SYS_BOOT);
	eff = d[0].effective | ((unsigned long long)d[1].effective << 32);
	perm = d[0].permitted | ((unsigned long long)d[1].permitted << 32);
	inh = d[0].inheritable | ((unsigned long long)d[1].inheritable << 32);
	r = SC(SYS_capset, &h, d);
	need(r == 0, "capset");
	EXPECT("capset", "capset",
	       "res=0" T "cap_effective=%llu" T "cap_permitted=%llu" T
	       "cap_inheritable=%llu", eff, perm, inh);
	/* Not back: a permitted capability once dropped cannot return. */
	d[0].permitted |= 1u << CAP_SYS_BOOT;
	h.version = _LINUX_CAPABILITY_VERSION_3;
	r = SC(SYS_capset, &h, d);
	need(r == -EPERM, "capset raising permitted fails with EPERM");
	EXPECT("capset not permitted", "capset",
	       "res=%ld" T "cap_effective=%llu" T "cap_permitted=%llu", r, eff,
	       perm);
}

static void ns_child(void)
{
	long fd, r;

	fd = SC(SYS_openat, AT_FDCWD, "/proc/self/ns/uts", O_RDONLY, 0);
	need(fd >= 0, "open /proc/self/ns/uts");
	r = SC(SYS_unshare, CLONE_NEWUTS);
	need(r == 0, "unshare CLONE_NEWUTS");
	EXPECT("unshare", "unshare", "res=0" T "flags=%d", CLONE_NEWUTS);
	r = SC(SYS_unshare, 0x1);	/* not a namespace or sharing flag */
	EXPECT("unshare bad flags", "unshare", "res=%ld" T "flags=1", r);
	r = SC(SYS_setns, fd, CLONE_NEWUTS);
	need(r == 0, "setns back to the first uts namespace");
	EXPECT("setns", "setns", "res=0" T "fd=%ld" T "nstype=%d", fd,
	       CLONE_NEWUTS);
	r = SC(SYS_setns, fd, CLONE_NEWNET);	/* wrong type for this fd */
	need(r == -EINVAL, "setns with the wrong nstype fails with EINVAL");
	EXPECT("setns wrong type", "setns",
	       "res=%ld" T "fd=%ld" T "nstype=%d", r, fd, CLONE_NEWNET);
	close((int)fd);
	r = SC(SYS_setns, 9999, 0);
	need(r == -EBADF, "setns of a bad fd fails with EBADF");
	EXPECT("setns bad fd", "setns", "res=%ld" T "fd=9999", r);
}

static void root_child(void)
{
	long r;

	r = SC(SYS_chroot, "/nonexistent/kestrel-root");
	need(r == -ENOENT, "chroot to a missing dir fails with ENOENT");
	EXPECT("chroot missing", "chroot",
	       "res=%ld" T "path=\"/nonexistent/kestrel-root\"", r);
	r = SC(SYS_pivot_root, "/nonexistent/new", "/nonexistent/old");
	need(r < 0, "pivot_root of missing dirs fails");
	EXPECT("pivot_root fails", "pivot_root",
	       "res=%ld" T "new_root=\"/nonexistent/new\"" T
	       "put_old=\"/nonexistent/old\"", r);
	r = SC(SYS_chroot, workdir);
	need(r == 0, "chroot to the work dir");
	EXPECT("chroot", "chroot", "res=0" T "path=" Q, workdir);
}

/* chdir/fchdir, in a child so the rest of the matrix keeps its cwd. */
static void cwd_child(void)
{
	long r, dfd;

	r = SC(SYS_chdir, workdir);
	need(r == 0, "chdir to the work dir");
	EXPECT("chdir", "chdir", "res=0" T "path=" Q, workdir);
	r = SC(SYS_chdir, "/nonexistent/kestrel-dir");
	need(r == -ENOENT, "chdir to a missing dir fails with ENOENT");
	EXPECT("chdir missing", "chdir",
	       "res=%ld" T "path=\"/nonexistent/kestrel-dir\"", r);
	dfd = SC(SYS_openat, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY, 0);
	need(dfd >= 0, "open /");
	r = SC(SYS_fchdir, dfd);
	need(r == 0, "fchdir to /");
	EXPECT("fchdir", "fchdir", "res=0" T "fd=%ld", dfd);
	r = SC(SYS_fchdir, -1);
	need(r == -EBADF, "fchdir(-1) fails with EBADF");
	EXPECT("fchdir bad fd", "fchdir", "res=%ld" T "fd=-1", r);
}

/* setsid in a child that is not a group leader: it becomes one. */
static void setsid_child(void)
{
	long r;

	r = SC(SYS_setsid);
	need(r == getpid(), "setsid returns the new session id");
	EXPECT("setsid", "setsid", "res=%ld", r);
	r = SC(SYS_setsid);
	need(r == -EPERM, "a second setsid fails with EPERM");
	EXPECT("setsid again", "setsid", "res=%ld", r);
}

/* setpgid(0, 0) (what setpgrp() is on x86_64), then failing calls. */
static void setpgid_child(void)
{
	long r;

	r = SC(SYS_setpgid, 0, 0);
	need(r == 0, "setpgid(0, 0)");
	EXPECT("setpgid", "setpgid", "res=0" T "pid=0" T "pgid=0");
	r = SC(SYS_setpgid, 0, 0x3ffffff0);
	need(r == -EPERM, "setpgid to a group not in the session fails with EPERM");
	EXPECT("setpgid foreign group", "setpgid",
	       "res=%ld" T "pid=0" T "pgid=%d", r, 0x3ffffff0);
	r = SC(SYS_setpgid, 0x3ffffff0, 0);
	need(r == -ESRCH, "setpgid of a missing pid fails with ESRCH");
	EXPECT("setpgid missing pid", "setpgid",
	       "res=%ld" T "pid=%d" T "pgid=0", r, 0x3ffffff0);
}

static void test_process_misc(void)
{
	int st;

	st = in_child(cwd_child);
	need(WIFEXITED(st) && WEXITSTATUS(st) == 0, "chdir child");
	st = in_child(setsid_child);
	need(WIFEXITED(st) && WEXITSTATUS(st) == 0, "setsid child");
	st = in_child(setpgid_child);
	need(WIFEXITED(st) && WEXITSTATUS(st) == 0, "setpgid child");

	st = in_child(prctl_child);
	need(WIFEXITED(st) && WEXITSTATUS(st) == 0, "prctl child");
	st = in_child(setid_child);
	need(WIFEXITED(st) && WEXITSTATUS(st) == 0, "set*id child");
	st = in_child(capset_child);
	need(WIFEXITED(st) && WEXITSTATUS(st) == 0, "capset child");
	st = in_child(ns_child);
	need(WIFEXITED(st) && WEXITSTATUS(st) == 0, "namespace child");
	st = in_child(root_child);
	need(WIFEXITED(st) && WEXITSTATUS(st) == 0, "chroot child");
}

/* ---------------------------------------------------------------------- */
/* Kernel and memory                                                       */

static void test_kernel_memory(void)
{
	static const char garbage[64] = "this is not an ELF module";
	struct io_uring_params up;
	long r, fd;
	void *m;

	r = SC(SYS_init_module, garbage, sizeof(garbage), "kestrel_param=1");
	need(r < 0, "init_module of garbage fails");
	EXPECT("init_module garbage", "init_module",
	       "res=%ld" T "length=%zu" T "uargs=\"kestrel_param=1\"", r,
	       sizeof(garbage));
	fd = SC(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY, 0);
	need(fd >= 0, "open for finit_module");
	r = SC(SYS_finit_module, fd, "kestrel_param=2", 0);
	need(r < 0, "finit_module of a text file fails");
	EXPECT("finit_module text file", "finit_module",
	       "res=%ld" T "fd=%ld" T "uargs=\"kestrel_param=2\"" T "flags=0" T
	       "fullpath=\"/etc/hostname\"", r, fd);
	close((int)fd);
	r = SC(SYS_delete_module, "kestrel_no_such_module", O_NONBLOCK);
	need(r < 0, "delete_module of a missing module fails");
	EXPECT("delete_module missing", "delete_module",
	       "res=%ld" T "name=\"kestrel_no_such_module\"" T "flags=%d", r,
	       O_NONBLOCK);

	r = SC(SYS_bpf, 9999, NULL, 0);
	need(r < 0, "bpf with a bad command fails");
	EXPECT("bpf bad cmd", "bpf", "res=%ld" T "cmd=9999", r);
	r = SC(SYS_bpf, 0 /* BPF_MAP_CREATE */, (void *)1, 64);
	EXPECT("bpf map create bad pointer", "bpf", "res=%ld" T "cmd=0", r);

	r = SC(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	EXPECT("userfaultfd", "userfaultfd", "res=%ld" T "flags=%d", r,
	       O_CLOEXEC | O_NONBLOCK);
	if (r >= 0)
		close((int)r);

	memset(&up, 0, sizeof(up));
	r = SC(SYS_io_uring_setup, 4, &up);
	EXPECT("io_uring_setup", "io_uring_setup", "res=%ld" T "entries=4", r);
	if (r >= 0)
		close((int)r);

	/* mmap: only PROT_EXEC mappings are recorded. */
	m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	need(m != MAP_FAILED, "mmap rw");
	NOEXPECT("mmap without PROT_EXEC is not recorded", "mmap",
		 "length=%d", 3 * 4096);
	r = SC(SYS_mmap, 0, 5 * 4096, PROT_READ | PROT_EXEC,
	       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	need(r > 0 || r < -4096, "mmap PROT_EXEC");
	EXPECT("mmap PROT_EXEC", "mmap",
	       "res=%lu" T "addr=0" T "length=%d" T "prot=%d" T "flags=%d" T
	       "fd=-1" T "offset=0", (unsigned long)r, 5 * 4096,
	       PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS);
	munmap((void *)r, 5 * 4096);

	/* mprotect: add PROT_EXEC (recorded), then drop it (not recorded). */
	r = SC(SYS_mprotect, m, 4096, PROT_READ | PROT_EXEC);
	need(r == 0, "mprotect PROT_EXEC");
	EXPECT("mprotect PROT_EXEC", "mprotect",
	       "res=0" T "addr=%lu" T "length=4096" T "prot=%d",
	       (unsigned long)m, PROT_READ | PROT_EXEC);
	r = SC(SYS_mprotect, (char *)m + 4096, 4096, PROT_READ);
	need(r == 0, "mprotect PROT_READ");
	NOEXPECT("mprotect without PROT_EXEC is not recorded", "mprotect",
		 "prot=%d", PROT_READ);
	r = SC(SYS_mprotect, (char *)m + 1, 4096, PROT_EXEC);
	need(r == -EINVAL, "mprotect of an unaligned address fails with EINVAL");
	EXPECT("mprotect unaligned", "mprotect",
	       "res=%ld" T "addr=%lu" T "prot=%d", r, (unsigned long)m + 1,
	       PROT_EXEC);
	munmap(m, 3 * 4096);
}

/* ---------------------------------------------------------------------- */
/* Truncation at a small snaplen                                           */

/*
 * The JSON of a list of n items as the module cuts it at snaplen (kmod's
 * kestrel_put_argv(), for n small enough to keep them all): the bytes
 * left after a 12-byte trailer and one NUL per item are shared out in
 * turn, each item taking at most an even share of what is left.
 */
static void cut_list_json(char *out, size_t size, char *const items[], int n,
			  int snaplen)
{
	int left = snaplen - 12 - n, k, len, share, o;

	o = snprintf(out, size, "[");
	for (k = 0; k < n; k++) {
		share = left / (n - k);
		len = (int)strlen(items[k]);
		if (len > share)
			len = share;
		o += snprintf(out + o, size - (size_t)o, "%s\"%.*s\"",
			      k ? "," : "", len, items[k]);
		left -= len;
	}
	snprintf(out + o, size - (size_t)o, "]");
}

static void test_snaplen(int snaplen)
{
	char path[512], longarg[300], *argv[5];
	char prefix[512], listjson[512];
	long r;
	pid_t p;
	int st, i;

	need(snaplen >= 27 && snaplen <= 200, "snaplen in 27..200");
	/* A missing path far longer than snaplen. */
	i = snprintf(path, sizeof(path), "/nonexistent/");
	for (; i < 300; i++)
		path[i] = (char)('a' + i % 26);
	path[i] = 0;
	r = SC(SYS_openat, AT_FDCWD, path, O_RDONLY, 0);
	need(r == -ENOENT, "openat of a long missing path fails with ENOENT");
	snprintf(prefix, sizeof(prefix), "%.*s", snaplen / 2, path);
	EXPECT("openat long path truncated", "openat",
	       "res=%ld" T "name^=\"%s" T "name@truncated", r, prefix);
	/* A short one is whole. */
	r = SC(SYS_openat, AT_FDCWD, "/nonexistent/x", O_RDONLY, 0);
	EXPECT("openat short path whole", "openat",
	       "res=%ld" T "name=\"/nonexistent/x\"", r);
	NOEXPECT("openat short path not truncated", "openat",
		 "name=\"/nonexistent/x\"" T "name@truncated");
	r = SC(SYS_openat, AT_FDCWD, (char *)1, O_RDONLY, 0);
	EXPECT("openat bad pointer at small snaplen", "openat",
	       "res=%ld" T "name@faulted" T "name=null", r);

	/* execve with argv longer than snaplen: truncated, not dropped. */
	memset(longarg, 'z', sizeof(longarg) - 1);
	longarg[sizeof(longarg) - 1] = 0;
	argv[0] = "kestrel-syscall-test";
	argv[1] = "noop";
	argv[2] = longarg;
	argv[3] = "after-the-long-one";
	argv[4] = NULL;
	p = fork();
	need(p >= 0, "fork for execve");
	if (p == 0) {
		touch_exec_args(self, argv, exec_envp);
		syscall(SYS_execve, self, argv, exec_envp);
		_exit(99);
	}
	wait_child(p, &st);
	need(WIFEXITED(st) && WEXITSTATUS(st) == 0, "execve'd child exits 0");
	/* every item kept, each cut to its share */
	cut_list_json(listjson, sizeof(listjson), argv, 4, snaplen);
	EXPECT_TID(p, "execve enter argv cut per item", "execve", ">",
		   "args=%s" T "args@truncated", listjson);
	EXPECT_TID(p, "execve exit argv cut per item", "execve", "<",
		   "res=0" T "args=%s" T "args@truncated", listjson);
}

/* ---------------------------------------------------------------------- */
/* Races: a sibling thread changes what a name refers to during the call  */

static volatile int race_stop;
static int race_innocent_fd;
#define RACE_FD 200		/* the fd number the open race fights over */
static char race_path[16] = "/etc/shadow";
static struct sockaddr_in race_sa;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* dup2() another file onto the number the open is about to return. */
static void *race_dup2(void *arg)
{
	(void)arg;
	while (!race_stop)
		dup2(race_innocent_fd, RACE_FD);
	return NULL;
}

/* Flip the path buffer between two names of equal length. */
static void *race_flip_path(void *arg)
{
	unsigned long i = 0;

	(void)arg;
	while (!race_stop)
		memcpy(race_path, (i++ & 1) ? "/etc/passwd" : "/etc/shadow", 12);
	return NULL;
}

/* Flip the port of the socket address between two. */
static void *race_flip_port(void *arg)
{
	unsigned long i = 0;
	int *ports = arg;

	while (!race_stop)
		race_sa.sin_port = htons((uint16_t)ports[i++ & 1]);
	return NULL;
}

/* Flip the address of the socket address between 127.0.0.1 and .2. */
static void *race_flip_addr(void *arg)
{
	unsigned long i = 0;

	(void)arg;
	while (!race_stop)
		race_sa.sin_addr.s_addr = htonl((i++ & 1) ? 0x7f000002 : 0x7f000001);
	return NULL;
}

static void race_run(void *(*fn)(void *), void *arg, pthread_t *t)
{
	race_stop = 0;
	need(pthread_create(t, NULL, fn, arg) == 0, "pthread_create");
}

static void race_end(pthread_t t)
{
	race_stop = 1;
	need(pthread_join(t, NULL) == 0, "pthread_join");
}

static void test_races(double secs)
{
	struct rlimit rl = { 8192, 8192 };
	struct stat st, st_shadow, st_passwd;
	struct sockaddr_in got;
	socklen_t glen;
	pthread_t t;
	double end;
	long r, hits = 0, opens = 0, n;
	int lports[2] = { 47142, 47143 };
	long ls[2];
	int i, one = 1, wst;
	pid_t pid;

	need(setrlimit(RLIMIT_NOFILE, &rl) == 0, "raise RLIMIT_NOFILE");
	need(stat("/etc/shadow", &st_shadow) == 0, "stat /etc/shadow");
	need(stat("/etc/passwd", &st_passwd) == 0, "stat /etc/passwd");

	/*
	 * 1. open vs dup2: the sibling keeps dup2()ing /etc/hostname onto
	 * RACE_FD, the number this thread's open of /etc/shadow gets whenever
	 * it closed it first.  The recorded fullpath must be the file the
	 * open created, never the one dup2()'d over it afterwards.
	 */
	/* in a child: its thousands of records have a tid of their own */
	pid = fork();
	need(pid >= 0, "fork for the dup2 race");
	if (pid == 0) {
		race_innocent_fd = open("/etc/hostname", O_RDONLY);
		need(race_innocent_fd >= 0, "open /etc/hostname");
		/* every lower number taken: the open gets RACE_FD when free */
		for (i = 0; i < RACE_FD; i++)
			if (fcntl(i, F_GETFD) < 0)
				need(dup2(race_innocent_fd, i) == i,
				     "fill the fd table");
		race_run(race_dup2, NULL, &t);
		end = now_s() + secs;
		while (now_s() < end && opens < 2000) {
			close(RACE_FD);
			r = SC(SYS_openat, AT_FDCWD, "/etc/shadow", O_RDONLY, 0);
			need(r >= 0, "openat /etc/shadow in the dup2 race");
			opens++;
			if (r == RACE_FD)
				hits++;
			else
				close((int)r);
		}
		race_end(t);
		printf("race: %ld opens of /etc/shadow, %ld on fd %d\n", opens,
		       hits, RACE_FD);
		need(hits > 0, "the dup2 race never got the fd it fights over");
		EXPECT("open raced by dup2: recorded", "openat",
		       "res=%d" T "name=\"/etc/shadow\"" T
		       "fullpath=\"/etc/shadow\"", RACE_FD);
		NOEXPECT("open raced by dup2: never the dup2'd file", "openat",
			 "name=\"/etc/shadow\"" T "fullpath=\"/etc/hostname\"");
		_exit(0);
	}
	wait_child(pid, &wst);
	need(WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "dup2 race child");

	/*
	 * 2. open vs a rewritten path: fullpath is the file the kernel
	 * opened (this thread checks it with fstat); the fds stay open so
	 * that each record is told apart by its fd.
	 */
	race_run(race_flip_path, NULL, &t);
	for (n = 0; n < 60; n++) {
		r = SC(SYS_openat, AT_FDCWD, race_path, O_RDONLY, 0);
		if (r < 0)	/* read half rewritten: no such file */
			continue;
		need(fstat((int)r, &st) == 0, "fstat");
		EXPECT("open raced by a path rewrite", "openat",
		       "res=%ld" T "fullpath=\"%s\"", r,
		       st.st_ino == st_shadow.st_ino ? "/etc/shadow" :
		       st.st_ino == st_passwd.st_ino ? "/etc/passwd" : "?");
	}
	race_end(t);
	for (r = 3; r < 1000; r++)
		if (r != expect_fd)
			close((int)r);

	/*
	 * 3. bind vs a rewritten address (127.0.0.1 or .2, any port): the
	 * tuple is the address the socket got (getsockname); the sockets stay
	 * open so that each record is told apart by its fd.
	 */
	race_sa = sin_of("127.0.0.1", 0);
	race_run(race_flip_addr, NULL, &t);
	for (n = 0; n < 30; n++) {
		long s = SC(SYS_socket, AF_INET, SOCK_DGRAM, 0);
		char ip[32];

		need(s >= 0, "socket in the bind race");
		r = SC(SYS_bind, s, &race_sa, sizeof(race_sa));
		need(r == 0, "bind in the bind race");
		glen = sizeof(got);
		need(getsockname((int)s, (struct sockaddr *)&got, &glen) == 0,
		     "getsockname");
		inet_ntop(AF_INET, &got.sin_addr, ip, sizeof(ip));
		EXPECT("bind raced by an address rewrite", "bind",
		       "res=0" T "fd=%ld" T "tuple^=\"%s:%d->", s, ip,
		       ntohs(got.sin_port));
	}
	race_end(t);

	/*
	 * 4. connect vs a rewritten address: the tuple's remote end is the
	 * peer the socket connected to (getpeername).
	 */
	for (i = 0; i < 2; i++) {
		struct sockaddr_in la = sin_of("127.0.0.1", lports[i]);

		ls[i] = SC(SYS_socket, AF_INET, SOCK_STREAM, 0);
		need(ls[i] >= 0, "socket listener");
		setsockopt((int)ls[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		need(SC(SYS_bind, ls[i], &la, sizeof(la)) == 0, "bind listener");
		need(SC(SYS_listen, ls[i], 512) == 0, "listen");
	}
	race_sa = sin_of("127.0.0.1", lports[0]);
	race_run(race_flip_port, lports, &t);
	for (n = 0; n < 30; n++) {
		long s = SC(SYS_socket, AF_INET, SOCK_STREAM, 0);

		need(s >= 0, "socket in the connect race");
		r = SC(SYS_connect, s, &race_sa, sizeof(race_sa));
		need(r == 0, "connect in the connect race");
		glen = sizeof(got);
		need(getpeername((int)s, (struct sockaddr *)&got, &glen) == 0,
		     "getpeername");
		EXPECT("connect raced by an address rewrite", "connect",
		       "res=0" T "fd=%ld" T "tuple^=\"127.0.0.1:%d->127.0.0.1:%d\"",
		       s, local_port((int)s), ntohs(got.sin_port));
	}
	race_end(t);
}

/*
 * argv padded to push the real command out of view, and an environment
 * padded to hide LD_PRELOAD: execve of this program (noop) with 300
 * padding arguments before "real-command" and three 3000-byte variables
 * before LD_PRELOAD=/tmp/evil.so.  Prints the child's pid.
 */
static void argv_padding(void)
{
	static char pads[300][51], envpad[3][3006];
	static char *argv[305], *envp[5];
	pid_t p;
	int i, st;

	argv[0] = "kestrel-syscall-test";
	argv[1] = "noop";
	for (i = 0; i < 300; i++) {
		snprintf(pads[i], sizeof(pads[i]), "-pad-%045d", i);
		argv[2 + i] = pads[i];
	}
	argv[302] = "real-command";
	argv[303] = NULL;
	for (i = 0; i < 3; i++) {
		memcpy(envpad[i], "PAD=", 4);
		memset(envpad[i] + 4, 'a' + i, 3000);
		envpad[i][3004] = 0;
		envp[i] = envpad[i];
	}
	envp[3] = "LD_PRELOAD=/tmp/evil.so";
	envp[4] = NULL;
	p = fork();
	need(p >= 0, "fork for the padded execve");
	if (p == 0) {
		touch_exec_args(self, argv, envp);
		syscall(SYS_execve, self, argv, envp);
		_exit(99);
	}
	wait_child(p, &st);
	need(WIFEXITED(st) && WEXITSTATUS(st) == 0, "padded execve'd child exits 0");
	printf("child %d\n", p);
}

/* ---------------------------------------------------------------------- */

static void storm(long n)
{
	long i, calls = 0;

	for (i = 0; i < n; i++) {
		syscall(SYS_close, -1);
		syscall(SYS_openat, AT_FDCWD, "/nonexistent/kestrel-storm",
			O_RDONLY, 0);
		calls += 2;
	}
	printf("storm: %ld calls by pid %d\n", calls, getpid());
}

static void open_expect(const char *file)
{
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	need(n > 0 && n < (ssize_t)sizeof(self) - 1, "readlink /proc/self/exe");
	self[n] = 0;
	expect_fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	need(expect_fd >= 0, file);
	snprintf(workdir, sizeof(workdir), "/tmp/kestrel-sct-%d", getpid());
	need(mkdir(workdir, 0755) == 0, "mkdir work dir");
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "noop") == 0)
		return 0;
	/* Expectation lines must not be lost if a setup check exits. */
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 3 && strcmp(argv[1], "storm") == 0) {
		storm(strtol(argv[2], NULL, 10));
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "argvpad") == 0) {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		need(n > 0 && n < (ssize_t)sizeof(self) - 1, "readlink /proc/self/exe");
		self[n] = 0;
		argv_padding();
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "race") == 0) {
		open_expect(argv[3]);
		test_races(atof(argv[2]));
		printf("kestrel-syscall-test: %d expectations in %s\n", n_expect,
		       argv[3]);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "snaplen") == 0) {
		open_expect(argv[3]);
		test_snaplen(atoi(argv[2]));
		printf("kestrel-syscall-test: %d expectations in %s\n", n_expect,
		       argv[3]);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "matrix") == 0) {
		open_expect(argv[2]);
		test_open_family();
		test_fd_calls();
		test_path_calls();
		test_mount();
		test_inet();
		test_udp();
		test_inet6();
		test_unix();
		test_exec();
		test_clone_family();
		test_signals_ptrace();
		test_process_misc();
		test_kernel_memory();
		printf("kestrel-syscall-test: %d expectations in %s\n", n_expect,
		       argv[2]);
		return 0;
	}
	fprintf(stderr,
		"usage: %s matrix EXPECTFILE | snaplen N EXPECTFILE | race SECS EXPECTFILE | argvpad | storm N | noop\n",
		argv[0]);
	return 2;
}
