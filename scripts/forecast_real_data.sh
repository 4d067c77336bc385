#!/usr/bin/env bash
# The whole pipeline on the two real series of shared/data, as the LSTM and scaling issues' "done
# when" ask (forecasters, then PPO agents and the evaluation of every scaling policy):
# the Azure Functions 2019 day (train on the first 20 hours, hold out the last 4) and the
# NASA-HTTP 1995 July series (hold out the last day; real web traffic, not serverless).
# Writes outputs/real-azure-day/ and outputs/real-nasa/ and copies each forecast_report.md,
# scaling_report.md and scaling_eval.csv to bench/results/ (the derived figures committed with
# this script).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${HYSCALE_SHARED_DATA:-../shared/data}
BIN=${HYSCALE_BIN:-build/hyscale}
EPOCHS=${LSTM_EPOCHS:-30}
[ -x "$BIN" ] || { cmake -S . -B build >/dev/null && cmake --build build -j"$(nproc)" --target hyscale; }
"$BIN" run --input "$DATA/azure2019/invitro_1350fn_1day.csv" --holdout 240 --lstm-epochs "$EPOCHS" \
  --out outputs/real-azure-day --quiet
"$BIN" run --input "$DATA/web/nasa_http_1995_jul_per_minute.csv" --holdout 1440 --lstm-epochs "$EPOCHS" \
  --out outputs/real-nasa --quiet
mkdir -p bench/results
cp outputs/real-azure-day/forecast_report.md bench/results/forecast_report_azure_day.md
cp outputs/real-nasa/forecast_report.md bench/results/forecast_report_nasa_http_1995.md
cp outputs/real-azure-day/scaling_report.md bench/results/scaling_report_azure_day.md
cp outputs/real-nasa/scaling_report.md bench/results/scaling_report_nasa_http_1995.md
cp outputs/real-azure-day/scaling_eval.csv bench/results/scaling_eval_azure_day.csv
cp outputs/real-nasa/scaling_eval.csv bench/results/scaling_eval_nasa_http_1995.csv
cat bench/results/forecast_report_azure_day.md bench/results/forecast_report_nasa_http_1995.md
cat bench/results/scaling_report_azure_day.md bench/results/scaling_report_nasa_http_1995.md
