"""Publishing: the gate that refuses unchecked data, and the atomic, BI-safe release of the marts."""
