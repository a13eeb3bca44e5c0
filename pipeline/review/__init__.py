"""`reverie review`: a local web page to read playbook entries with the sessions behind them and decide."""
