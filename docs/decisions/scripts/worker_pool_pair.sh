#!/bin/bash
# docs/decisions/worker-pool-per-run.md: the quick ising-temperature task on two checkouts, one after the other,
# with any full-division runs of this machine paused (SIGSTOP to their sessions) and resumed after.
# Usage: worker_pool_pair.sh OLD_PYTHON NEW_PYTHON OUT_DIR, each PYTHON a virtual environment's interpreter with one
# of the two checkouts installed (pip install -e).
OLD=$1; NEW=$2; D=$3; mkdir -p $D
SIDS=$(ps -eo sid,args | grep "division full" | grep -v grep | awk '{print $1}' | sort -u)
for s in $SIDS; do pkill -STOP -s $s; done
echo "paused $SIDS at $(date +%T)" > $D/pair.txt
for which in old new; do
  if [ $which = old ]; then py=$OLD; else py=$NEW; fi
  rm -rf $D/$which
  s=$(date +%s.%N)
  $py -m phasebench.suites.cli run --task ising-temperature --out $D/$which --no-progress > $D/$which.log 2>&1
  rc=$?; e=$(date +%s.%N); echo "$which $(echo "$e - $s" | bc) s rc=$rc" >> $D/pair.txt
done
for s in $SIDS; do pkill -CONT -s $s; done
echo "resumed at $(date +%T)" >> $D/pair.txt
