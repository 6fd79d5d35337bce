-- Every delivery day ingested, from the ingestion log: how far the landing zone has got.
select distinct _delivery_date as delivery_date
from {{ source('raw', 'ingest_log') }}
