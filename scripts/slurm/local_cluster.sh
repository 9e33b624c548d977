#!/usr/bin/env bash
# A one-machine Slurm (Debian's slurm-wlm and munge) for the tests and for trying the launch path:
#   scripts/slurm/local_cluster.sh install   # apt-get, as root (the Makefile's slurm-deps)
#   scripts/slurm/local_cluster.sh start     # munged, slurmctld, slurmd; waits until the node is up
#   scripts/slurm/local_cluster.sh stop      # cancels its jobs, stops the three daemons
# One node, this machine's CPUs as its resources, one partition `local`. Settings that run
# unprivileged in a container: proctrack/linuxproc, task/none (no cgroups), SlurmUser root.
# It writes /etc/slurm/slurm.conf only where none exists or where this script wrote it.
set -euo pipefail

CONF=/etc/slurm/slurm.conf
MARK="# written by scripts/slurm/local_cluster.sh"
LOGS=/var/log/slurm

fail() { echo "local_cluster.sh: $*" >&2; exit 1; }

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
    return
  fi
  [ "$(id -u)" = 0 ] || fail "installing needs root (Debian/Ubuntu: sudo apt-get install slurm-wlm munge)"
  command -v apt-get >/dev/null || fail "no apt-get: install Slurm (slurmctld, slurmd) and munge by hand"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge
}

write_conf() {
  if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
    fail "$CONF exists and was not written by this script: use that cluster, or move it aside"
  fi
  local host node
  host=$(hostname -s)
  # The CPUs and memory slurmd finds (nproc would follow OMP_NUM_THREADS).
  node=$(slurmd -C | grep -o 'CPUs=[0-9]* .*RealMemory=[0-9]*')
  mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd "$LOGS"
  cat > "$CONF" <<CONF
$MARK
ClusterName=local
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
# A requeued job waits cred_expire seconds before it may start again (default 120).
AuthInfo=cred_expire=15
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
NodeName=$host $node State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

start_munge() {
  if munge -n </dev/null >/dev/null 2>&1; then return; fi
  mkdir -p /run/munge && chown munge:munge /run/munge
  runuser -u munge -- /usr/sbin/munged
}

wait_up() {
  for _ in $(seq 60); do
    if sinfo --noheader --responding --states=idle,mixed,allocated --format=%N 2>/dev/null | grep -q .; then
      return
    fi
    sleep 0.5
  done
  fail "the node did not come up in 30 s: see $LOGS/slurmctld.log and $LOGS/slurmd.log"
}

start_cluster() {
  [ "$(id -u)" = 0 ] || fail "starting needs root (slurmd runs jobs as their users)"
  command -v slurmctld >/dev/null || fail "Slurm is not installed: run $0 install"
  write_conf
  start_munge
  # -c: no jobs carried over from an earlier start (a try-out cluster keeps none).
  pgrep -F /run/slurmctld.pid >/dev/null 2>&1 || slurmctld -c
  pgrep -F /run/slurmd.pid >/dev/null 2>&1 || slurmd
  wait_up
  sinfo
}

stop_pid() {  # stop_pid PIDFILE: the daemon this script started, by its own pid file
  local pid
  [ -e "$1" ] && pid=$(cat "$1") && kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
}

cancel_jobs() {  # a job still running when slurmd stops would be left without its step daemon
  local jobs
  jobs=$(squeue --noheader --format=%i 2>/dev/null) || return 0
  [ -n "$jobs" ] || return 0
  echo "local_cluster.sh: cancelling jobs" $jobs >&2
  scancel $jobs
  for _ in $(seq 60); do squeue --noheader 2>/dev/null | grep -q . || return 0; sleep 0.5; done
}

stop_cluster() {
  cancel_jobs
  stop_pid /run/slurmd.pid
  stop_pid /run/slurmctld.pid
  stop_pid /run/munge/munged.pid
}

case "${1:-}" in
  install) install_packages ;;
  start) start_cluster ;;
  stop) stop_cluster ;;
  *) fail "usage: $0 install|start|stop" ;;
esac
