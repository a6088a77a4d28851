//! Kernel (infinite-width) recursion of MATH 9: predictions for the general family.
