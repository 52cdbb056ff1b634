#!/bin/bash
# jobs.sh: job control in a plain bash script (no pipes, no command substitution).
#
#   jobs.sh run    background jobs of different lengths, `wait` for each, one killed
#   jobs.sh term   two long jobs; on SIGTERM the trap kills them, reaps them, exits 0
#   jobs.sh specs  jobs named by job spec: kill %1, kill -STOP %2, wait %2, jobs
#
# Times are printed relative to the start, from bash's $EPOCHSECONDS.

t0=$EPOCHSECONDS
say() { echo "[+$((EPOCHSECONDS - t0))] $*"; }

run() {
    sleep 5 & a=$!
    sleep 10 & b=$!
    sleep 100 & c=$!
    say "started $a $b $c"

    wait $a; say "job $a (sleep 5) exit $?"
    kill $c; say "killed $c"
    wait $b; say "job $b (sleep 10) exit $?"
    wait $c; say "job $c (sleep 100) exit $?"

    ( exit 3 ) & d=$!
    wait $d; say "job $d (subshell) exit $?"

    sleep 3 & e=$!
    sleep 1
    kill -STOP $e; say "stopped $e"
    sleep 10
    kill -CONT $e; say "continued $e"
    wait $e; say "job $e (sleep 3, stopped for 10 s) exit $?"

    sleep 1 & sleep 2 & sleep 4 &
    wait
    say "all jobs done"
}

term() {
    pids=
    trap 'say "got TERM, stopping $pids"; kill $pids; for p in $pids; do wait $p; say "job $p exit $?"; done; say bye; exit 0' TERM
    sleep 1000 & pids="$pids $!"
    sleep 2000 & pids="$pids $!"
    say "waiting for$pids"
    wait
    say "all jobs ended by themselves"
    exit 1
}

specs() {
    sleep 50 &
    sleep 20 &
    say "jobs: $(jobs -p | tr '\n' ' ')"
    kill %1; wait %1; say "job %1 exit $?"
    kill -STOP %2; say "stopped %2"
    sleep 30
    kill -CONT %2; wait %2; say "job %2 exit $?"
}

say "jobs.sh $$ $1"
case $1 in
    run) run ;;
    term) term ;;
    specs) specs ;;
    *) echo "usage: jobs.sh run|term|specs" >&2; exit 2 ;;
esac
