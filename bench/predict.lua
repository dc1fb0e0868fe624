-- wrk script for bench/run.sh: every request is the README's first
-- prediction, POST /v1/predictions with a JSON body.
wrk.method = "POST"
wrk.path = "/v1/predictions"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model_id":"customer-churn","features":{"customer_id":"12345","tenure_months":24,"monthly_charges":89.99,"contract":"month-to-month","support_calls":3}}'
