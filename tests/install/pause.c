/*
 * tests/install/pause.c -- the node test's pod sandbox process, in place of
 * registry.k8s.io/pause (no image registry is reachable here).  Like the
 * kubelet's pause: it holds the pod's namespaces, reaps orphans when it is
 * the pod's pid 1, and exits on SIGINT or SIGTERM.  Built static.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig)
{
	(void)sig;
	_exit(0);
}

static void reap(int sig)
{
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(void)
{
	struct sigaction a = { .sa_handler = stop };
	struct sigaction r = { .sa_handler = reap, .sa_flags = SA_NOCLDSTOP };

	if (sigaction(SIGINT, &a, NULL) || sigaction(SIGTERM, &a, NULL) ||
	    sigaction(SIGCHLD, &r, NULL))
		return 1;
	for (;;)
		pause();
}
