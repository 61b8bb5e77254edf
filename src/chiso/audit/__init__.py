"""The audit trail (nhật ký): every write, by whom, when, from where, before and after."""
