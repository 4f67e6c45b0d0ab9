//! Users' stable numbers (seed 003's `User:42`): given at creation, kept on a real file across
//! reopening, never reused, and found again by number.

use baton_store::{Durability, Store};

#[test]
fn user_numbers_are_given_at_creation_and_kept_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.db");
    {
        let mut s = Store::open(&path, Durability::Full).unwrap();
        let tx = s.transaction().unwrap();
        tx.create_user("ann", false, "t1").unwrap();
        tx.create_user("bob", true, "t2").unwrap();
        tx.commit().unwrap();
        // A taken name is refused and takes no number.
        let tx = s.transaction().unwrap();
        assert!(tx.create_user("ann", false, "t3").is_err());
        drop(tx);
        let tx = s.transaction().unwrap();
        tx.create_user("cyd", false, "t4").unwrap();
        tx.commit().unwrap();
    }
    let s = Store::open(&path, Durability::Full).unwrap();
    let ann = s.user("ann").unwrap().unwrap();
    let bob = s.user("bob").unwrap().unwrap();
    let cyd = s.user("cyd").unwrap().unwrap();
    assert_eq!((ann.id, bob.id, cyd.id), (1, 2, 3));
    assert_eq!(s.user_by_id(2).unwrap().unwrap().user_name, "bob");
    assert!(s.user_by_id(2).unwrap().unwrap().is_admin);
    assert!(s.user_by_id(4).unwrap().is_none());
    assert!(s.user_by_id(0).unwrap().is_none());
    let listed: Vec<(i64, String)> = s
        .users()
        .unwrap()
        .into_iter()
        .map(|u| (u.id, u.user_name))
        .collect();
    assert_eq!(
        listed,
        [(1, "ann".into()), (2, "bob".into()), (3, "cyd".into())]
    );
}
