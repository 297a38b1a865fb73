#!/usr/bin/env bash
# Debian packages the local stack needs: Java 17 (DynamoDB Local, Spark), Node.js + npm
# (kinesalite, the page's vendored mqtt.js), Maven (jar downloads), Chromium + its WebDriver (the
# race page's browser tests, tests/browser), Mosquitto + its clients (the MQTT broker over WebSocket
# that stands in for IoT Core in tests/browser/test_iot.py). Installs only what is missing; a no-op
# when all are there.
set -euo pipefail
missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm  >/dev/null 2>&1 || missing+=(npm)
command -v mvn  >/dev/null 2>&1 || missing+=(maven)
[ -x /usr/bin/chromium ]     || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
[ -x /usr/sbin/mosquitto ]   || missing+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || missing+=(mosquitto-clients)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "error: missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
