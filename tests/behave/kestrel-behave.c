// SPDX-License-Identifier: GPL-2.0
/*
 * kestrel-behave: the behaviours of tests/vm/behaviours.sh that busybox
 * cannot perform, each one real syscall (or a short, fixed sequence), and
 * the container runtime's two jobs (start a container, exec into one) done
 * the way runc does them.  Static: the VM guest has no libc.
 *
 * The first argument names the action; argv[0] is ignored, so a symlink
 * to this program named "nginx" or "runc" behaves the same and only gives
 * the process that name (the kernel takes comm from the exec'd path).
 *
 *   spawn PROG ARG...           fork, exec PROG, wait (a parent with a name)
 *   run-container CG ROOT PROG ARG...
 *                               join cgroup CG, unshare mount/uts/ipc/pid
 *                               namespaces, fork; the child (pid 1 inside)
 *                               chroots to ROOT, mounts /proc and execs
 *                               PROG; waits
 *   exec-in CG PID PROG ARG...  join cgroup CG, enter PID's mount, uts, ipc
 *                               and pid namespaces and its root, fork, exec
 *                               (both keep only the capabilities named in
 *                               $KESTREL_CAPS, comma-separated, if set: the
 *                               bounding set is cut, so the exec'd root
 *                               process holds only those, as runc does)
 *   tty PROG ARG...             run PROG as a session leader with a new
 *                               pseudo-terminal as its controlling tty
 *   ptrace-attach PID           PTRACE_ATTACH PID, wait for the stop, detach
 *   traceme PROG ARG...         PTRACE_TRACEME, then exec PROG (the parent
 *                               is not a debugger: the child runs on)
 *   memfd-exec PATH ARG...      copy PATH into a memfd and execveat it
 *   finit PATH                  finit_module(PATH) (refusal expected), then
 *                               stay a second
 *   bpf-load                    load a two-instruction socket filter
 *   uffd UID                    become UID, then userfaultfd(user-mode only)
 *   as UID PROG ARG...          setgid/setuid(UID), then exec PROG
 *   connect IP PORT             TCP connect, send a line, close
 *   udp IP PORT                 send one UDP datagram
 *   listen PORT                 accept and close connections until killed
 *   packet-socket               socket(AF_PACKET, SOCK_RAW)
 *   open-write PATH             open(PATH, O_WRONLY) and report the result
 *   later-read SECS PATH        sleep SECS, then read PATH (a long-running
 *                               service reading a file after its start)
 *   exec-noargs PATH            execve(PATH) with an empty argv
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/userfaultfd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

static void die(const char *what)
{
	fprintf(stderr, "kestrel-behave: %s: %s\n", what, strerror(errno));
	exit(111);
}

static int wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static const char *const cap_names[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

/* Cut the bounding set to the capabilities $KESTREL_CAPS names (all kept
 * when it is unset): a root process exec'd afterwards is left with those. */
static void keep_caps(void)
{
	const char *keep = getenv("KESTREL_CAPS");
	char item[64];
	unsigned int i;

	if (!keep)
		return;
	for (i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++) {
		const char *p = keep;
		int kept = 0;

		while (*p && !kept) {
			size_t n = strcspn(p, ",");

			if (n < sizeof(item)) {
				memcpy(item, p, n);
				item[n] = 0;
				kept = !strcmp(item, cap_names[i]);
			}
			p += n + (p[n] == ',');
		}
		if (!kept && prctl(PR_CAPBSET_DROP, i, 0, 0, 0) && errno != EINVAL)
			die("PR_CAPBSET_DROP");
	}
}

static void join_cgroup(const char *cg)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	f = fopen(path, "w");
	if (!f)
		die(path);
	fprintf(f, "%d\n", getpid());
	if (fclose(f))
		die(path);
}

static int spawn(char **argv)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		execv(argv[0], argv);
		die(argv[0]);
	}
	return wait_child(pid);
}

static int run_container(const char *cg, const char *root, char **argv)
{
	pid_t pid;

	join_cgroup(cg);
	if (unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID))
		die("unshare");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (chroot(root) || chdir("/"))
			die(root);
		/* The container's own /proc, as runc mounts it (best effort). */
		mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
		keep_caps();
		execv(argv[0], argv);
		die(argv[0]);
	}
	return wait_child(pid);
}

static int exec_in(const char *cg, const char *target, char **argv)
{
	static const char *const kinds[] = { "ipc", "uts", "pid", "mnt" };
	char path[256];
	int rootfd, fd;
	unsigned int i;
	pid_t pid;

	join_cgroup(cg);
	snprintf(path, sizeof(path), "/proc/%s/root", target);
	rootfd = open(path, O_RDONLY | O_DIRECTORY);
	if (rootfd < 0)
		die(path);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		snprintf(path, sizeof(path), "/proc/%s/ns/%s", target, kinds[i]);
		fd = open(path, O_RDONLY);
		if (fd < 0 || setns(fd, 0))
			die(path);
		close(fd);
	}
	if (fchdir(rootfd) || chroot("."))
		die("chroot into the container's root");
	close(rootfd);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		keep_caps();
		execv(argv[0], argv);
		die(argv[0]);
	}
	return wait_child(pid);
}

static int with_tty(char **argv)
{
	char buf[512];
	int master, slave;
	pid_t pid;

	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master))
		die("posix_openpt");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (setsid() < 0)
			die("setsid");
		slave = open(ptsname(master), O_RDWR);
		if (slave < 0 || ioctl(slave, TIOCSCTTY, 0))
			die("controlling tty");
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		close(master);
		if (slave > 2)
			close(slave);
		execv(argv[0], argv);
		die(argv[0]);
	}
	/* Drain the terminal until the child closes it (EIO), then reap. */
	for (;;) {
		ssize_t n = read(master, buf, sizeof(buf));

		if (n <= 0)
			break;
		if (write(1, buf, n) < 0)
			break;
	}
	return wait_child(pid);
}

static int ptrace_attach(pid_t target)
{
	int st;

	if (ptrace(PTRACE_ATTACH, target, 0, 0))
		die("PTRACE_ATTACH");
	if (waitpid(target, &st, 0) < 0)
		die("waitpid");
	if (ptrace(PTRACE_DETACH, target, 0, 0))
		die("PTRACE_DETACH");
	return 0;
}

static int traceme(char **argv)
{
	if (ptrace(PTRACE_TRACEME, 0, 0, 0))
		die("PTRACE_TRACEME");
	/* Untraced from here on: a tracee whose parent is no debugger would
	 * stop at exec with SIGTRAP, so the request is undone by forking. */
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		execv(argv[0], argv);
		die(argv[0]);
	}
	return wait_child(pid);
}

static int memfd_exec(const char *path, char **argv)
{
	char buf[65536];
	extern char **environ;
	int in, mfd;
	ssize_t n;

	in = open(path, O_RDONLY);
	if (in < 0)
		die(path);
	mfd = memfd_create("payload", 0);
	if (mfd < 0)
		die("memfd_create");
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(mfd, buf, n) != n)
			die("write to the memfd");
	close(in);
	syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
	die("execveat of the memfd");
	return 1;
}

static int finit(const char *path)
{
	int fd = open(path, O_RDONLY);
	long r;

	if (fd < 0)
		die(path);
	r = syscall(SYS_finit_module, fd, "", 0);
	printf("finit_module %s: %ld (%s)\n", path, r, r ? strerror(errno) : "loaded");
	/* Stay a moment, as a loader does: capabilities are read from /proc
	 * when a rule asks, which needs the process alive. */
	sleep(1);
	return 0;
}

static int bpf_load(void)
{
	/* r0 = 0; exit: a socket filter that drops everything. */
	struct bpf_insn prog[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	long r;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (unsigned long)prog;
	attr.insn_cnt = 2;
	attr.license = (unsigned long)"GPL";
	r = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	printf("bpf BPF_PROG_LOAD: %ld (%s)\n", r, r < 0 ? strerror(errno) : "loaded");
	return 0;
}

static void become(const char *uid)
{
	uid_t u = (uid_t)atoi(uid);

	if (setgid(u) || setuid(u))
		die("setgid/setuid");
}

static int uffd(const char *uid)
{
	long r;

	become(uid);
	r = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	printf("userfaultfd as uid %s: %ld (%s)\n", uid, r, r < 0 ? strerror(errno) : "ok");
	return 0;
}

static int inet_socket(int type, const char *ip, const char *port, struct sockaddr_in *a)
{
	int s = socket(AF_INET, type, 0);

	if (s < 0)
		die("socket");
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((unsigned short)atoi(port));
	if (inet_pton(AF_INET, ip, &a->sin_addr) != 1) {
		fprintf(stderr, "kestrel-behave: bad address %s\n", ip);
		exit(2);
	}
	return s;
}

static int tcp_connect(const char *ip, const char *port)
{
	struct sockaddr_in a;
	int s = inet_socket(SOCK_STREAM, ip, port, &a);

	if (connect(s, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	if (write(s, "hello\n", 6) < 0)
		die("write");
	close(s);
	return 0;
}

static int udp_send(const char *ip, const char *port)
{
	struct sockaddr_in a;
	int s = inet_socket(SOCK_DGRAM, ip, port, &a);

	if (sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)) != 1)
		die("sendto");
	close(s);
	return 0;
}

static __attribute__((noreturn)) void listen_forever(const char *port)
{
	struct sockaddr_in a;
	int one = 1;
	int s = inet_socket(SOCK_STREAM, "0.0.0.0", port, &a);

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 16))
		die("bind/listen");
	for (;;) {
		int c = accept(s, NULL, NULL);

		if (c >= 0)
			close(c);
	}
}

static int packet_socket(void)
{
	int s = socket(AF_PACKET, SOCK_RAW, 0);

	printf("socket(AF_PACKET): %d (%s)\n", s, s < 0 ? strerror(errno) : "ok");
	return 0;
}

static int open_write(const char *path)
{
	int fd = open(path, O_WRONLY);

	printf("open(%s, O_WRONLY): %d (%s)\n", path, fd, fd < 0 ? strerror(errno) : "ok");
	return 0;
}

static int later_read(const char *secs, const char *path)
{
	char buf[256];
	int fd;

	sleep((unsigned int)atoi(secs));
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path);
	if (read(fd, buf, sizeof(buf)) < 0)
		die(path);
	close(fd);
	return 0;
}

static int exec_noargs(const char *path)
{
	char *argv[] = { NULL };
	char *envp[] = { NULL };

	execve(path, argv, envp);
	die(path);
	return 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: kestrel-behave ACTION ARG... (see the source's header)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *a;

	if (argc < 2)
		usage();
	a = argv[1];
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(a, "spawn") && argc >= 3)
		return spawn(argv + 2);
	if (!strcmp(a, "run-container") && argc >= 5)
		return run_container(argv[2], argv[3], argv + 4);
	if (!strcmp(a, "exec-in") && argc >= 5)
		return exec_in(argv[2], argv[3], argv + 4);
	if (!strcmp(a, "tty") && argc >= 3)
		return with_tty(argv + 2);
	if (!strcmp(a, "ptrace-attach") && argc == 3)
		return ptrace_attach(atoi(argv[2]));
	if (!strcmp(a, "traceme") && argc >= 3)
		return traceme(argv + 2);
	if (!strcmp(a, "memfd-exec") && argc >= 4)
		return memfd_exec(argv[2], argv + 3);
	if (!strcmp(a, "finit") && argc == 3)
		return finit(argv[2]);
	if (!strcmp(a, "bpf-load") && argc == 2)
		return bpf_load();
	if (!strcmp(a, "uffd") && argc == 3)
		return uffd(argv[2]);
	if (!strcmp(a, "as") && argc >= 4) {
		become(argv[2]);
		execv(argv[3], argv + 3);
		die(argv[3]);
	}
	if (!strcmp(a, "connect") && argc == 4)
		return tcp_connect(argv[2], argv[3]);
	if (!strcmp(a, "udp") && argc == 4)
		return udp_send(argv[2], argv[3]);
	if (!strcmp(a, "listen") && argc == 3)
		listen_forever(argv[2]);
	if (!strcmp(a, "packet-socket") && argc == 2)
		return packet_socket();
	if (!strcmp(a, "open-write") && argc == 3)
		return open_write(argv[2]);
	if (!strcmp(a, "later-read") && argc == 4)
		return later_read(argv[2], argv[3]);
	if (!strcmp(a, "exec-noargs") && argc == 3)
		return exec_noargs(argv[2]);
	usage();
	return 2;
}
