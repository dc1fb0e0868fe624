// Package redistest runs a real redis-server for tests, on a free loopback
// port in a temporary folder, and can kill and restart it to test what the
// code under test does when its store goes away. Without redis-server the
// test skips, naming what is missing, except under CI=true, where it fails
// (`make test` installs it: scripts/install-redis.sh).
package redistest
