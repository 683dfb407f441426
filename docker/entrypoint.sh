#!/bin/sh
# Applies migrations (idempotent), then runs the service in the foreground.
set -eu
ledgerctl migrate
exec ledgerd
