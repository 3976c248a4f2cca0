// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kestrel-compat-test - the attacks of the syscall matrix made through the
 * 32-bit x86 syscall ABI, run inside a VM guest.
 *
 * Built twice (tests/syscalls/Makefile):
 *   kestrel-syscall-test-compat32  gcc -m32 -static: a 32-bit program, whose
 *                                  every syscall is an ia32 one
 *   kestrel-syscall-test-int80     a 64-bit static program that makes the
 *                                  same calls with `int $0x80`
 * Either way the kernel runs the ia32 syscall table, and kestrel.ko must
 * record each call as the x86_64 syscall of the same meaning.  Like
 * kestrel-syscall-test, it writes one expectation line per call, built
 * from what the kernel returned, in the format tests/vm/lib.sh's
 * expect_lines checks:
 *
 *   EXPECT<TAB>label<TAB>type<TAB>dir<TAB>tid=N<TAB>name=value...
 *
 * Everything handed to an ia32 syscall lives below 4 GiB (static data of a
 * static, non-PIE binary; mmap results of 32-bit calls): int $0x80 sees only
 * the low 32 bits of each register.
 *
 * Usage:
 *   kestrel-syscall-test-* compat EXPECTFILE [IMAGE32]
 *        the calls; with IMAGE32 (a 32-bit program) also a plain x86_64
 *        execve into it, whose exit must still be recorded
 *   kestrel-syscall-test-* noop [ARGS...]   exit 0 (an execve target)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <linux/net.h>
/* ia32 syscall numbers in both builds (never the x86_64 ones). */
#include <asm/unistd_32.h>

#define T "\t"

#ifdef __i386__
#define ABI_NAME "compat32"
#include <sys/syscall.h>
/* A 32-bit program's syscall: ia32 by construction. */
static long sc32(long nr, long a, long b, long c, long d, long e, long f)
{
	long r = syscall(nr, a, b, c, d, e, f);

	return r == -1 ? -(long)errno : r;
}
#else
#define ABI_NAME "int80"
/*
 * int $0x80 from 64-bit code: the ia32 syscall table, arguments in ebx,
 * ecx, edx, esi, edi, ebp (rbp is saved around it: the compiler may use it
 * as the frame pointer); r8-r11 do not survive it.
 */
static long sc32(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r12 __asm__("r12") = f;
	long ret;

	__asm__ volatile("push %%rbp\n\t"
			 "mov %%r12, %%rbp\n\t"
			 "int $0x80\n\t"
			 "pop %%rbp"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e),
			   "r"(r12)
			 : "memory", "cc", "r8", "r9", "r10", "r11");
	return ret;	/* the kernel's long result: -errno or the value */
}
#endif

/* ipc(2)'s call numbers, as <linux/ipc.h> has them (which clashes with libc's). */
#define IPC_CALL_SHMGET 23

/* A pointer as a 32-bit syscall argument. */
#define P(x) ((long)(uintptr_t)(x))

static int expect_fd = -1;
static int n_expect;

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

static void emit(const char *label, const char *type, const char *dir,
		 pid_t who, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "EXPECT\t%s %s\t%s\t%s\ttid=%d\t",
		     ABI_NAME, label, type, dir, who);
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	need(n < (int)sizeof(buf) - 1, "expectation line too long");
	buf[n++] = '\n';
	need(write(expect_fd, buf, (size_t)n) == n, "write expectation");
	n_expect++;
}

#define EXPECT(label, type, ...) emit(label, type, "<", gettid(), __VA_ARGS__)

/* Static, so every address is below 4 GiB in both builds. */
static char workdir[64], dir1[96], file1[96], file2[96], self[256];
static char image32[256];
static const char shadow[] = "/etc/shadow";
static const char uargs[] = "kestrel_param=32";
static const char garbage[64] = "this is not an ELF module";
static char a0[] = "kestrel-syscall-test", a1[] = "noop", a2[] = "compat-arg";
static char e0[] = "KESTREL_ENV=compat";
static uint32_t argv32[4], envp32[2];
static uint32_t sockargs[6];
static uint32_t mmap_block[6];
static struct sockaddr_in sin_listen, sin_peer;
static socklen_t peer_len;
static int pipefds[2];

static void test_files(void)
{
	long r, fd;

	r = sc32(__NR_open, P(shadow), O_RDONLY, 0, 0, 0, 0);
	need(r >= 0, "ia32 open /etc/shadow");
	EXPECT("open shadow", "open",
	       "res=%ld" T "name=\"/etc/shadow\"" T "flags=0" T
	       "fullpath=\"/etc/shadow\"", r);
	fd = r;
	r = sc32(__NR_fcntl64, fd, F_DUPFD, 40, 0, 0, 0);
	need(r >= 40, "ia32 fcntl64 F_DUPFD");
	EXPECT("fcntl64 F_DUPFD", "fcntl",
	       "res=%ld" T "fd=%ld" T "cmd=%d", r, fd, F_DUPFD);
	close((int)r);
	close((int)fd);
	r = sc32(__NR_openat, AT_FDCWD, P(shadow), O_RDONLY | O_CLOEXEC, 0, 0, 0);
	need(r >= 0, "ia32 openat /etc/shadow");
	EXPECT("openat shadow", "openat",
	       "res=%ld" T "dirfd=%d" T "name=\"/etc/shadow\"" T "flags=%d" T
	       "fullpath=\"/etc/shadow\"", r, AT_FDCWD, O_RDONLY | O_CLOEXEC);
	close((int)r);
	r = sc32(__NR_openat, AT_FDCWD, P("/nonexistent/kestrel-compat"),
		 O_RDONLY, 0, 0, 0);
	need(r == -ENOENT, "ia32 openat of a missing file fails with ENOENT");
	EXPECT("openat missing", "openat",
	       "res=%ld" T "name=\"/nonexistent/kestrel-compat\"", r);

	r = sc32(__NR_mkdir, P(dir1), 0750, 0, 0, 0, 0);
	need(r == 0, "ia32 mkdir");
	EXPECT("mkdir", "mkdir", "res=0" T "path=\"%s\"" T "mode=%d", dir1, 0750);
	fd = open(file1, O_CREAT | O_WRONLY, 0600);
	need(fd >= 0, "create file1");
	close((int)fd);
	r = sc32(__NR_rename, P(file1), P(file2), 0, 0, 0, 0);
	need(r == 0, "ia32 rename");
	EXPECT("rename", "rename",
	       "res=0" T "oldpath=\"%s\"" T "newpath=\"%s\"", file1, file2);
	r = sc32(__NR_chown, P(file2), 0xffff, 0xffff, 0, 0, 0);
	need(r == 0, "ia32 chown16(-1, -1)");
	EXPECT("chown16 keeps ids", "chown",
	       "res=0" T "path=\"%s\"" T "uid=4294967295" T "gid=4294967295",
	       file2);
	r = sc32(__NR_chmod, P(file2), 0640, 0, 0, 0, 0);
	need(r == 0, "ia32 chmod");
	EXPECT("chmod", "chmod", "res=0" T "filename=\"%s\"" T "mode=%d", file2,
	       0640);
	r = sc32(__NR_unlink, P(file2), 0, 0, 0, 0, 0);
	need(r == 0, "ia32 unlink");
	EXPECT("unlink", "unlink", "res=0" T "path=\"%s\"", file2);
	r = sc32(__NR_chdir, P(workdir), 0, 0, 0, 0, 0);
	need(r == 0, "ia32 chdir");
	EXPECT("chdir", "chdir", "res=0" T "path=\"%s\"", workdir);
	r = sc32(__NR_pipe, P(pipefds), 0, 0, 0, 0, 0);
	need(r == 0, "ia32 pipe");
	EXPECT("pipe", "pipe", "res=0" T "fd1=%d" T "fd2=%d", pipefds[0],
	       pipefds[1]);
	close(pipefds[0]);
	close(pipefds[1]);
}

#define COMPAT_PORT 47131

static int local_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	need(getsockname(fd, (struct sockaddr *)&sa, &len) == 0, "getsockname");
	return ntohs(sa.sin_port);
}

static void test_net(void)
{
	char addr[64];
	long ls, cs, as, r;
	int one = 1, cport;

	/* socketcall(SYS_SOCKET): demultiplexed into a socket event */
	sockargs[0] = AF_INET;
	sockargs[1] = SOCK_STREAM;
	sockargs[2] = 0;
	ls = sc32(__NR_socketcall, SYS_SOCKET, P(sockargs), 0, 0, 0, 0);
	need(ls >= 0, "socketcall SYS_SOCKET");
	EXPECT("socketcall socket", "socket",
	       "res=%ld" T "domain=%d" T "type=%d" T "proto=0", ls, AF_INET,
	       SOCK_STREAM);
	need(setsockopt((int)ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0,
	     "SO_REUSEADDR");
	sin_listen.sin_family = AF_INET;
	sin_listen.sin_port = htons(COMPAT_PORT);
	sin_listen.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sockargs[0] = (uint32_t)ls;
	sockargs[1] = (uint32_t)P(&sin_listen);
	sockargs[2] = sizeof(sin_listen);
	r = sc32(__NR_socketcall, SYS_BIND, P(sockargs), 0, 0, 0, 0);
	need(r == 0, "socketcall SYS_BIND");
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", COMPAT_PORT);
	EXPECT("socketcall bind", "bind", "res=0" T "fd=%ld" T "addr=\"%s\"", ls,
	       addr);
	r = sc32(__NR_listen, ls, 5, 0, 0, 0, 0);
	need(r == 0, "ia32 listen");
	EXPECT("listen", "listen", "res=0" T "fd=%ld" T "backlog=5", ls);

	/* socketcall(SYS_CONNECT) */
	cs = sc32(__NR_socket, AF_INET, SOCK_STREAM, 0, 0, 0, 0);
	need(cs >= 0, "ia32 socket");
	EXPECT("socket", "socket", "res=%ld" T "domain=%d", cs, AF_INET);
	sockargs[0] = (uint32_t)cs;
	sockargs[1] = (uint32_t)P(&sin_listen);
	sockargs[2] = sizeof(sin_listen);
	r = sc32(__NR_socketcall, SYS_CONNECT, P(sockargs), 0, 0, 0, 0);
	need(r == 0, "socketcall SYS_CONNECT");
	cport = local_port((int)cs);
	EXPECT("socketcall connect", "connect",
	       "res=0" T "fd=%ld" T "addr=\"%s\"" T
	       "tuple=\"127.0.0.1:%d->127.0.0.1:%d\"", cs, addr, cport,
	       COMPAT_PORT);

	/* socketcall(SYS_ACCEPT): accept has no ia32 syscall of its own */
	peer_len = sizeof(sin_peer);
	sockargs[0] = (uint32_t)ls;
	sockargs[1] = (uint32_t)P(&sin_peer);
	sockargs[2] = (uint32_t)P(&peer_len);
	as = sc32(__NR_socketcall, SYS_ACCEPT, P(sockargs), 0, 0, 0, 0);
	need(as >= 0, "socketcall SYS_ACCEPT");
	EXPECT("socketcall accept", "accept",
	       "res=%ld" T "fd=%ld" T "tuple=\"127.0.0.1:%d->127.0.0.1:%d\"",
	       as, ls, COMPAT_PORT, cport);
	close((int)as);
	close((int)cs);

	/* the direct ia32 connect */
	cs = sc32(__NR_socket, AF_INET, SOCK_STREAM, 0, 0, 0, 0);
	need(cs >= 0, "ia32 socket 2");
	r = sc32(__NR_connect, cs, P(&sin_listen), sizeof(sin_listen), 0, 0, 0);
	need(r == 0, "ia32 connect");
	EXPECT("connect", "connect",
	       "res=0" T "fd=%ld" T "addr=\"%s\"" T
	       "tuple=\"127.0.0.1:%d->127.0.0.1:%d\"", cs, addr,
	       local_port((int)cs), COMPAT_PORT);
	close((int)cs);
	close((int)ls);
}

static void test_kernel_memory(void)
{
	long r, id;

	r = sc32(__NR_init_module, P(garbage), sizeof(garbage), P(uargs), 0, 0, 0);
	need(r < 0, "ia32 init_module of garbage fails");
	EXPECT("init_module", "init_module",
	       "res=%ld" T "length=%zu" T "uargs=\"%s\"", r, sizeof(garbage),
	       uargs);
	r = sc32(__NR_ptrace, 16 /* PTRACE_ATTACH */, 999999, 0, 0, 0, 0);
	need(r == -ESRCH, "ia32 ptrace attach of a missing pid fails with ESRCH");
	EXPECT("ptrace attach", "ptrace",
	       "res=%ld" T "request=16" T "pid=999999", r);
	r = sc32(__NR_kill, getpid(), 0, 0, 0, 0, 0);
	need(r == 0, "ia32 kill(self, 0)");
	EXPECT("kill", "kill", "res=0" T "pid=%d" T "sig=0", getpid());

	/* mmap2 (offset in pages) and the old mmap (arguments in memory) */
	r = sc32(__NR_mmap2, 0, 3 * 4096, PROT_READ | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	need((unsigned long)r < -4095UL, "ia32 mmap2 PROT_EXEC");
	EXPECT("mmap2", "mmap",
	       "res=%lu" T "length=%d" T "prot=%d" T "flags=%d" T "fd=-1" T
	       "offset=0", (unsigned long)r, 3 * 4096, PROT_READ | PROT_EXEC,
	       MAP_PRIVATE | MAP_ANONYMOUS);
	{
		long m = r;

		r = sc32(__NR_mprotect, m, 4096, PROT_READ, 0, 0, 0);
		need(r == 0, "ia32 mprotect PROT_READ");
		r = sc32(__NR_mprotect, m, 4096, PROT_READ | PROT_EXEC, 0, 0, 0);
		need(r == 0, "ia32 mprotect PROT_EXEC");
		EXPECT("mprotect", "mprotect",
		       "res=0" T "addr=%lu" T "length=4096" T "prot=%d",
		       (unsigned long)m, PROT_READ | PROT_EXEC);
	}
	mmap_block[0] = 0;
	mmap_block[1] = 5 * 4096;
	mmap_block[2] = PROT_READ | PROT_WRITE | PROT_EXEC;
	mmap_block[3] = MAP_PRIVATE | MAP_ANONYMOUS;
	mmap_block[4] = (uint32_t)-1;
	mmap_block[5] = 0;
	r = sc32(__NR_mmap, P(mmap_block), 0, 0, 0, 0, 0);
	need((unsigned long)r < -4095UL, "ia32 old mmap PROT_EXEC");
	EXPECT("old mmap", "mmap",
	       "res=%lu" T "length=%d" T "prot=%d" T "fd=-1",
	       (unsigned long)r, 5 * 4096, PROT_READ | PROT_WRITE | PROT_EXEC);

	/* ipc(SHMGET) and the direct shmget: generic events as shmget */
	id = sc32(__NR_ipc, IPC_CALL_SHMGET, IPC_PRIVATE, 4096, IPC_CREAT | 0600, 0, 0);
	need(id >= 0, "ipc SHMGET");
	EXPECT("ipc shmget", "generic", "res=%ld" T "nr=\"shmget\"", id);
	shmctl((int)id, IPC_RMID, NULL);
	id = sc32(__NR_shmget, IPC_PRIVATE, 4096, IPC_CREAT | 0600, 0, 0, 0);
	need(id >= 0, "ia32 shmget");
	EXPECT("shmget", "generic", "res=%ld" T "nr=\"shmget\"", id);
	shmctl((int)id, IPC_RMID, NULL);
}

/* The set*id calls in a child (they drop root). */
static void ids_child(void)
{
	long r;

	r = sc32(__NR_setreuid, 0xffff, 0xffff, 0, 0, 0, 0);
	need(r == 0, "ia32 setreuid16(-1, -1)");
	EXPECT("setreuid16 -1", "setreuid",
	       "res=0" T "ruid=4294967295" T "euid=4294967295");
	r = sc32(__NR_setuid32, 0, 0, 0, 0, 0, 0);
	need(r == 0, "ia32 setuid32(0)");
	EXPECT("setuid32", "setuid", "res=0" T "uid=0");
	r = sc32(__NR_setresgid, 7, 8, 9, 0, 0, 0);
	need(r == 0, "ia32 setresgid16");
	EXPECT("setresgid16", "setresgid", "res=0" T "rgid=7" T "egid=8" T "sgid=9");
	r = sc32(__NR_setresuid32, 10, 11, 12, 0, 0, 0);
	need(r == 0, "ia32 setresuid32");
	EXPECT("setresuid32", "setresuid", "res=0" T "ruid=10" T "euid=11" T "suid=12");
	r = sc32(__NR_setuid, 0, 0, 0, 0, 0, 0);
	need(r == -EPERM, "ia32 setuid16(0) after dropping root fails with EPERM");
	EXPECT("setuid16 refused", "setuid", "res=%ld" T "uid=0", r);
}

static void touch(const char *s)
{
	static volatile unsigned char sink;

	while (*s)
		sink += (unsigned char)*s++;
}

static void test_process(void)
{
	pid_t p;
	int st;
	long r;

	/* fork through the ia32 table */
	r = sc32(__NR_fork, 0, 0, 0, 0, 0, 0);
	if (r == 0)
		_exit(0);
	need(r > 0, "ia32 fork");
	EXPECT("fork", "fork", "res=%ld", r);
	need(waitpid((pid_t)r, &st, 0) == r, "waitpid fork child");

	p = fork();
	need(p >= 0, "fork for the ids child");
	if (p == 0) {
		ids_child();
		_exit(0);
	}
	need(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	     "ids child");

	/*
	 * execve through the ia32 table: argv and envp are arrays of 32-bit
	 * pointers.  The new image is this program (32- or 64-bit).
	 */
	argv32[0] = (uint32_t)P(a0);
	argv32[1] = (uint32_t)P(a1);
	argv32[2] = (uint32_t)P(a2);
	argv32[3] = 0;
	envp32[0] = (uint32_t)P(e0);
	envp32[1] = 0;
	p = fork();
	need(p >= 0, "fork for execve");
	if (p == 0) {
		/* the module reads without faulting pages in */
		touch(self);
		touch(a0);
		touch(a1);
		touch(a2);
		touch(e0);
		argv32[3] = 0;
		envp32[1] = 0;
		sc32(__NR_execve, P(self), P(argv32), P(envp32), 0, 0, 0);
		_exit(99);
	}
	need(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	     "ia32 execve'd child exits 0");
	emit("execve enter", "execve", ">", p,
	     "filename=\"%s\"" T
	     "args=[\"kestrel-syscall-test\",\"noop\",\"compat-arg\"]", self);
	emit("execve exit", "execve", "<", p,
	     "res=0" T "exe=\"%s\"" T
	     "args=[\"kestrel-syscall-test\",\"noop\",\"compat-arg\"]" T
	     "env=[\"KESTREL_ENV=compat\"]" T "vpid=%d", self, p);
	emit("procexec", "procexec", "-", p, "filename=\"%s\"", self);

	/* A failed ia32 execve: the caller's arguments, 32-bit pointers. */
	p = fork();
	need(p >= 0, "fork for the failing execve");
	if (p == 0) {
		touch(a0);
		touch(a1);
		touch(a2);
		touch(e0);
		r = sc32(__NR_execve, P("/nonexistent/kestrel-compat-exec"),
			 P(argv32), P(envp32), 0, 0, 0);
		_exit(r == -ENOENT ? 0 : 98);
	}
	need(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	     "failing ia32 execve gives ENOENT");
	emit("execve ENOENT", "execve", "<", p,
	     "res=%d" T "exe=\"/nonexistent/kestrel-compat-exec\"" T
	     "args=[\"kestrel-syscall-test\",\"noop\",\"compat-arg\"]" T
	     "env=[\"KESTREL_ENV=compat\"]", -ENOENT);

	/*
	 * A plain (x86_64) execve into a 32-bit image: the syscall returns as
	 * an ia32 one; the exit record must still be there, with the new exe.
	 */
	if (image32[0]) {
		p = fork();
		need(p >= 0, "fork for execve into the 32-bit image");
		if (p == 0) {
			char *av[] = { a0, a1, "into-32-bit", NULL };
			char *ev[] = { e0, NULL };

			touch(image32);
			execve(image32, av, ev);
			_exit(99);
		}
		need(waitpid(p, &st, 0) == p && WIFEXITED(st) &&
		     WEXITSTATUS(st) == 0, "execve into the 32-bit image");
		emit("execve into 32-bit image", "execve", "<", p,
		     "res=0" T "exe=\"%s\"" T
		     "args=[\"kestrel-syscall-test\",\"noop\",\"into-32-bit\"]",
		     image32);
	}
}

int main(int argc, char **argv)
{
	ssize_t n;

	if (argc >= 2 && strcmp(argv[1], "noop") == 0)
		return 0;
	if (argc < 3 || argc > 4 || strcmp(argv[1], "compat") != 0) {
		fprintf(stderr, "usage: %s compat EXPECTFILE [IMAGE32] | noop\n",
			argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	need(n > 0 && n < (ssize_t)sizeof(self) - 1, "readlink /proc/self/exe");
	self[n] = 0;
	if (argc == 4) {
		need(strlen(argv[3]) < sizeof(image32), "IMAGE32 path too long");
		strcpy(image32, argv[3]);
	}
	expect_fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	need(expect_fd >= 0, argv[2]);
	snprintf(workdir, sizeof(workdir), "/tmp/kestrel-compat-%d", getpid());
	need(mkdir(workdir, 0755) == 0, "mkdir work dir");
	snprintf(dir1, sizeof(dir1), "%s/dir1", workdir);
	snprintf(file1, sizeof(file1), "%s/file1", workdir);
	snprintf(file2, sizeof(file2), "%s/file2", workdir);

	test_files();
	test_net();
	test_kernel_memory();
	test_process();
	printf("kestrel-compat-test (%s): %d expectations in %s\n", ABI_NAME,
	       n_expect, argv[2]);
	return 0;
}
