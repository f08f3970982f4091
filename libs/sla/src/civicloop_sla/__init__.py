"""The SLA clock, shared by the services that judge a request against its targets (projections, selfheal).

`business_time`: the working week, holidays and clock changes of a jurisdiction; `clock`: a request's clock folded
from its events and judged against the jurisdiction's `jurisdiction.sla.defined`. Pure: no IO.
"""
