# tester.tcl: a small test harness in the style of SQLite's own tests/tester.tcl.
#
#   source [file join [file dirname [info script]] tester.tcl]
#   open_db ?file?                       ;# connection "db" with mlrec loaded
#   do_execsql_test 1.1 {SELECT 1+1} {2}
#   do_catchsql_test 1.2 {SELECT nope()} {1 {no such function: nope}}
#   do_test 1.3 {expr {2*3}} 6
#   finish_test                          ;# prints "N passed, N failed", exits 1 on failure
#
# Environment: MLREC_LIB is the extension to load (default ./mlrec); MLREC_DB the MovieLens
# database built by `make movielens.db` (default ./movielens.db); MLREC_TMPDIR the directory for
# scratch files (default tests/tmp).
package require sqlite3

set ::nPass 0
set ::nFail 0
set ::root [file normalize [file join [file dirname [info script]] ..]]
set ::mlrec_lib [expr {[info exists ::env(MLREC_LIB)] ? $::env(MLREC_LIB) : "$::root/mlrec"}]
set ::movielens_db [expr {[info exists ::env(MLREC_DB)] ? $::env(MLREC_DB) : "$::root/movielens.db"}]
set ::tmpdir [expr {[info exists ::env(MLREC_TMPDIR)] ? $::env(MLREC_TMPDIR) : [file join $::root tests tmp]}]
file mkdir $::tmpdir

proc load_mlrec {conn} {
  $conn enable_load_extension 1
  $conn eval {SELECT load_extension($::mlrec_lib)}
}

# Open connection "db" (or $name) on $file with mlrec loaded.
proc open_db {{file :memory:} {name db}} {
  catch {$name close}
  sqlite3 $name $file
  load_mlrec $name
}

# A fresh copy of the MovieLens database, or a loud failure if it is missing.
proc open_movielens {{name db}} {
  if {![file exists $::movielens_db]} {
    puts "FAIL: MovieLens database $::movielens_db is missing (make movielens.db)"
    incr ::nFail
    finish_test
  }
  # a private copy: tests may write to it, and other suites may run at the same time
  set copy [file join $::tmpdir "movielens-[file rootname $::testfile].db"]
  if {![info exists ::movielens_copied]} {
    # copy the file, not a symbolic link to it (file copy copies links as links)
    set src $::movielens_db
    while {[file type $src] eq "link"} {
      set src [file join [file dirname $src] [file readlink $src]]
    }
    file delete -force $copy
    file copy $src $copy
    set ::movielens_copied 1
  }
  open_db $copy $name
}

proc report {name ok got expected} {
  if {$ok} {
    incr ::nPass
  } else {
    incr ::nFail
    puts "FAIL $::testfile $name"
    puts "  expected: $expected"
    puts "  got:      $got"
  }
}

proc do_test {name script expected} {
  set rc [catch {uplevel 1 $script} got]
  if {$rc} { set got "error: $got" }
  report $name [expr {!$rc && $got eq $expected}] $got $expected
}

proc do_execsql_test {name sql expected} {
  set rc [catch {uplevel 1 [list db eval $sql]} got]
  if {$rc} { set got "error: $got" }
  # compare as lists, so that whitespace in the expected value does not matter
  report $name [expr {!$rc && [list {*}$got] eq [list {*}$expected]}] $got $expected
}

proc do_catchsql_test {name sql expected} {
  set rc [catch {uplevel 1 [list db eval $sql]} msg]
  set got [list $rc $msg]
  report $name [expr {$got eq [list {*}$expected]}] $got $expected
}

# Like do_test, but each number of the result must be within tol of the expected one.
proc do_near_test {name script expected {tol 1e-9}} {
  set rc [catch {uplevel 1 $script} got]
  set ok [expr {!$rc && [llength $got]==[llength $expected]}]
  if {$ok} {
    foreach g $got e $expected {
      if {[string is double -strict $e]} {
        if {![string is double -strict $g] || abs($g-$e)>$tol} { set ok 0 }
      } elseif {$g ne $e} { set ok 0 }
    }
  }
  report $name $ok $got $expected
}

proc finish_test {} {
  catch {db close}
  puts "$::testfile: $::nPass passed, $::nFail failed"
  exit [expr {$::nFail>0}]
}

set ::testfile [file tail [info script]]
if {[info exists ::argv0]} { set ::testfile [file tail $::argv0] }
