//! The free function `tierpool::get` attributes its checkouts too, once the
//! global pool tracks callers (`set_global`). Its own binary: the global
//! pool is process-wide, and set once.

#[test]
fn the_free_get_attributes_a_leak_to_its_line() {
    let pool = tierpool::BufPool::builder().track_callers(true).build().unwrap();
    assert!(tierpool::set_global(pool).is_ok(), "nothing used the global pool before");
    let (leak, line) = (tierpool::get(100), line!());
    let out = tierpool::global().outstanding_by_caller();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].location.file(), out[0].location.line(), out[0].buffers), (file!(), line, 1));
    let shared = leak.into_shared();
    let line = line!() - 1;
    assert_eq!(tierpool::global().outstanding_by_caller()[0].location.line(), line);
    drop(shared);
    tierpool::global().assert_quiescent();
    assert!(tierpool::set_global(tierpool::BufPool::new()).is_err(), "set once");
}
