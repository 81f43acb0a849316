"""The custom search attributes of a purchase request: defined once, here.

They live in domain/ because activities read them too (the review counts the requester's own
outcomes from visibility), and activities must not import workflows/.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

# Custom search attributes, registered on the server by `purchasebot up` (and by the tests).
# They make each request findable and give the review the requester's past outcomes from
# visibility, so no worker keeps history in a local file.
EMPLOYEE_ID = SearchAttributeKey.for_keyword("EmployeeId")
DEPARTMENT = SearchAttributeKey.for_keyword("Department")
PURCHASE_OUTCOME = SearchAttributeKey.for_keyword("PurchaseOutcome")
# auto_approved / manual / not_reviewed: lets the monitor measure the system's own latency
# (leaving out requests that waited for a person) and the share of auto-approvals.
REVIEW_PATH = SearchAttributeKey.for_keyword("ReviewPath")
# What the review judges besides the history, set when the request is filed (start options, not
# workflow code): the rules backtest re-decides past requests from visibility alone.
# "39.90 EUR" (Decimal text: exact), the catalog category and the store, e.g. "amazon.es".
PURCHASE_AMOUNT = SearchAttributeKey.for_keyword("PurchaseAmount")
PRODUCT_CATEGORY = SearchAttributeKey.for_keyword("ProductCategory")
PRODUCT_VENDOR = SearchAttributeKey.for_keyword("ProductVendor")
# Who a waiting request waits for now (since delegation-v1; reassign-v1 keeps it current): how a
# delegation finds the requests already waiting for the delegator.
APPROVER = SearchAttributeKey.for_keyword("Approver")
# Everyone who may decide a waiting request now (since deciders-listed-v1): its approver and, at
# the second level, every eligible approver of the pool. A Keyword holds one of them only; this
# list is how each one's App Home finds the request. KeywordList: `Deciders = 'U1'` matches a
# list that holds U1.
DECIDERS = SearchAttributeKey.for_keyword_list("Deciders")
CUSTOM_SEARCH_ATTRIBUTES = (
    EMPLOYEE_ID,
    DEPARTMENT,
    PURCHASE_OUTCOME,
    REVIEW_PATH,
    PURCHASE_AMOUNT,
    PRODUCT_CATEGORY,
    PRODUCT_VENDOR,
    APPROVER,
    DECIDERS,
)
