//! Owner-only security for the kernel objects a server creates (pipe
//! instances, and the Win SHM mapping and events).
//!
//! The Windows counterpart of the `0600` UDS socket: a DACL with a single
//! ACE granting full access to the user the process runs as, and nothing
//! to anyone else. Without it, named objects get the token's default DACL,
//! which on a stock system also lets other principals in.

use std::mem::size_of;

use windows_sys::Win32::Foundation::{
    ERROR_INSUFFICIENT_BUFFER, GENERIC_ALL, GetLastError, HANDLE,
};
use windows_sys::Win32::Security::{
    ACCESS_ALLOWED_ACE, ACL, ACL_REVISION, AddAccessAllowedAce, GetLengthSid, GetTokenInformation,
    InitializeAcl, InitializeSecurityDescriptor, IsValidSid, PSID, SECURITY_ATTRIBUTES,
    SECURITY_DESCRIPTOR, SetSecurityDescriptorDacl, TOKEN_QUERY, TOKEN_USER, TokenUser,
};
use windows_sys::Win32::System::SystemServices::SECURITY_DESCRIPTOR_REVISION;
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

use crate::error::{Error, Result};

use super::pipe::{OwnedHandle, last_error, win_error};

/// Security attributes granting access to the current user only.
///
/// Build one right before creating an object and keep it alive until the
/// creating call returns ([`OwnerOnly::attributes`] points into it); the
/// kernel copies the descriptor.
pub(crate) struct OwnerOnly {
    // Heap buffers: their addresses stay put when `OwnerOnly` moves, so
    // the pointers between them (attributes → descriptor → ACL, and the
    // SID inside the token buffer) remain valid.
    _token_user: Vec<u64>,
    _acl: Vec<u64>,
    descriptor: Box<SECURITY_DESCRIPTOR>,
    attributes: SECURITY_ATTRIBUTES,
}

impl OwnerOnly {
    /// Security attributes for the user this process runs as.
    pub(crate) fn current_user() -> Result<OwnerOnly> {
        let token_user = current_token_user()?;
        let sid = sid_of(&token_user);
        // SAFETY: `sid` points into `token_user`, filled by the system.
        if unsafe { IsValidSid(sid) } == 0 {
            return Err(Error::Io(std::io::Error::other(
                "the process token has no valid user SID",
            )));
        }
        // SAFETY: valid SID (checked above).
        let sid_len = unsafe { GetLengthSid(sid) } as usize;
        // One ACE: its SidStart field is the first 4 bytes of the SID.
        let acl_len =
            size_of::<ACL>() + size_of::<ACCESS_ALLOWED_ACE>() - size_of::<u32>() + sid_len;
        let acl_len = acl_len.next_multiple_of(size_of::<u32>());
        let mut acl = vec![0u64; acl_len.div_ceil(size_of::<u64>())];
        let acl_ptr = acl.as_mut_ptr().cast::<ACL>();
        let acl_len_u32 = u32::try_from(acl_len)
            .map_err(|_| Error::Io(std::io::Error::other("SID too large")))?;
        // SAFETY: `acl` holds `acl_len` writable, 8-aligned bytes.
        if unsafe { InitializeAcl(acl_ptr, acl_len_u32, ACL_REVISION) } == 0 {
            return Err(last_error());
        }
        // SAFETY: the ACL was initialised with room for this one ACE;
        // `sid` is valid.
        if unsafe { AddAccessAllowedAce(acl_ptr, ACL_REVISION, GENERIC_ALL, sid) } == 0 {
            return Err(last_error());
        }
        // SAFETY: SECURITY_DESCRIPTOR is plain data; all-zero is a valid
        // starting point for InitializeSecurityDescriptor.
        let mut descriptor: Box<SECURITY_DESCRIPTOR> = Box::new(unsafe { std::mem::zeroed() });
        let sd_ptr = (&mut *descriptor as *mut SECURITY_DESCRIPTOR).cast();
        // SAFETY: `sd_ptr` points to a writable SECURITY_DESCRIPTOR.
        if unsafe { InitializeSecurityDescriptor(sd_ptr, SECURITY_DESCRIPTOR_REVISION) } == 0 {
            return Err(last_error());
        }
        // SAFETY: initialised descriptor; the ACL outlives it (both owned
        // by the returned value).
        if unsafe { SetSecurityDescriptorDacl(sd_ptr, 1, acl_ptr, 0) } == 0 {
            return Err(last_error());
        }
        let attributes = SECURITY_ATTRIBUTES {
            nLength: size_of::<SECURITY_ATTRIBUTES>() as u32,
            lpSecurityDescriptor: sd_ptr,
            bInheritHandle: 0,
        };
        Ok(OwnerOnly {
            _token_user: token_user,
            _acl: acl,
            descriptor,
            attributes,
        })
    }

    /// The attributes to pass to a `Create*W` call, valid while `self`
    /// lives.
    pub(crate) fn attributes(&self) -> *const SECURITY_ATTRIBUTES {
        debug_assert!(std::ptr::eq(
            self.attributes.lpSecurityDescriptor.cast_const(),
            (&*self.descriptor as *const SECURITY_DESCRIPTOR).cast()
        ));
        &self.attributes
    }
}

/// The TOKEN_USER of this process, in an 8-aligned buffer.
fn current_token_user() -> Result<Vec<u64>> {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: the pseudo handle of this process; `token` is writable.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(last_error());
    }
    let token = OwnedHandle(token);
    let mut needed = 0u32;
    // SAFETY: a size query: no buffer, `needed` writable.
    let ok =
        unsafe { GetTokenInformation(token.0, TokenUser, std::ptr::null_mut(), 0, &mut needed) };
    // SAFETY: no preconditions.
    let err = unsafe { GetLastError() };
    if ok != 0 || err != ERROR_INSUFFICIENT_BUFFER || (needed as usize) < size_of::<TOKEN_USER>() {
        return Err(win_error(err));
    }
    let mut buf = vec![0u64; (needed as usize).div_ceil(size_of::<u64>())];
    let cap = u32::try_from(buf.len() * size_of::<u64>()).unwrap_or(u32::MAX);
    // SAFETY: `buf` holds `cap` writable, 8-aligned bytes.
    if unsafe {
        GetTokenInformation(
            token.0,
            TokenUser,
            buf.as_mut_ptr().cast(),
            cap,
            &mut needed,
        )
    } == 0
    {
        return Err(last_error());
    }
    Ok(buf)
}

/// The user SID inside a TOKEN_USER buffer from [`current_token_user`].
fn sid_of(token_user: &[u64]) -> PSID {
    // SAFETY: the buffer holds a TOKEN_USER written by the system (at
    // least `size_of::<TOKEN_USER>()` bytes, 8-aligned).
    unsafe { (*token_user.as_ptr().cast::<TOKEN_USER>()).User.Sid }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use windows_sys::Win32::Security::{
        ACL_SIZE_INFORMATION, AclSizeInformation, EqualSid, GetAce, GetAclInformation,
    };

    use crate::transport::Endpoint;
    use crate::transport::windows::Listener;

    /// Checks that `acl` holds exactly one allow ACE, for this user.
    pub(super) fn assert_owner_only(acl: *const ACL) {
        assert!(!acl.is_null(), "a DACL is present");
        // SAFETY: plain data, zero is valid.
        let mut info: ACL_SIZE_INFORMATION = unsafe { std::mem::zeroed() };
        // SAFETY: valid ACL; `info` is writable and sized.
        let ok = unsafe {
            GetAclInformation(
                acl,
                (&mut info as *mut ACL_SIZE_INFORMATION).cast(),
                size_of::<ACL_SIZE_INFORMATION>() as u32,
                AclSizeInformation,
            )
        };
        assert_ne!(ok, 0, "GetAclInformation");
        assert_eq!(info.AceCount, 1, "exactly one ACE");
        let mut ace: *mut std::ffi::c_void = std::ptr::null_mut();
        // SAFETY: index 0 exists (count checked).
        assert_ne!(unsafe { GetAce(acl, 0, &mut ace) }, 0, "GetAce");
        let ace = ace.cast::<ACCESS_ALLOWED_ACE>();
        // SAFETY: an allow ACE written by AddAccessAllowedAce; its SID
        // starts at SidStart.
        let sid: PSID = unsafe { (&raw mut (*ace).SidStart).cast() };
        let me = current_token_user().expect("token user");
        // SAFETY: both SIDs valid.
        assert_ne!(
            unsafe { EqualSid(sid, sid_of(&me)) },
            0,
            "the ACE names this user"
        );
    }

    #[test]
    fn descriptor_grants_the_current_user_only() {
        let sec = OwnerOnly::current_user().expect("owner-only security");
        // SAFETY: the descriptor built by `current_user`, alive with `sec`.
        let sd = unsafe {
            &*(*sec.attributes())
                .lpSecurityDescriptor
                .cast::<SECURITY_DESCRIPTOR>()
        };
        assert_owner_only(sd.Dacl);
    }

    #[test]
    fn pipe_instances_carry_the_owner_only_dacl() {
        let dir = std::env::temp_dir().join(format!("netipc-sec-{}", std::process::id()));
        let endpoint = Endpoint::new(dir.to_string_lossy().as_ref(), "sec").expect("endpoint");
        let listener = Listener::bind(&endpoint).expect("bind");
        let handle = listener
            .first_instance_handle()
            .expect("a waiting instance");
        assert_object_is_owner_only(handle);
    }

    /// Asserts that the kernel object behind `handle` has a DACL with exactly
    /// one allow ACE, for the user this process runs as (tests of every
    /// object kind the transport creates use it).
    pub(crate) fn assert_object_is_owner_only(handle: HANDLE) {
        use windows_sys::Win32::Foundation::{ERROR_SUCCESS, LocalFree};
        use windows_sys::Win32::Security::Authorization::{GetSecurityInfo, SE_KERNEL_OBJECT};
        use windows_sys::Win32::Security::{DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR};

        let mut dacl: *mut ACL = std::ptr::null_mut();
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: a live kernel object handle; out pointers writable.
        let rc = unsafe {
            GetSecurityInfo(
                handle,
                SE_KERNEL_OBJECT,
                DACL_SECURITY_INFORMATION,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut dacl,
                std::ptr::null_mut(),
                &mut sd,
            )
        };
        assert_eq!(rc, ERROR_SUCCESS, "GetSecurityInfo");
        assert_owner_only(dacl);
        // SAFETY: allocated by GetSecurityInfo.
        unsafe { LocalFree(sd) };
    }
}
